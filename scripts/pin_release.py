"""Rewrite the tree for a release commit (run by .github/workflows/release.yml).

- Every action.yml stops building `Dockerfile` and uses the image the release pushed, pinned by
  digest: `image: ../Dockerfile` -> `image: docker://ghcr.io/owner/repo@sha256:...`.
- The reusable workflows reference the actions of this repository at the release's tag instead
  of the `OWNER/REPO` placeholder (a reusable workflow runs in the caller's
  repository, so it cannot use a local path).

main keeps `image: ../Dockerfile` and the placeholder, so forks and branches build from source.

Usage:
    python scripts/pin_release.py --image ghcr.io/o/r@sha256:<hex> --repository o/r --ref v1.2.3
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = "OWNER/REPO"
IMAGE = re.compile(r"^[a-z0-9.-]+(?::\d+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$")
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
REF = re.compile(r"^v\d+\.\d+\.\d+$")
IMAGE_LINE = re.compile(r"^(?P<indent>\s+)image:\s*['\"]?(?:\.\./)?Dockerfile['\"]?\s*$", re.M)
PLACEHOLDER_USES = re.compile(rf"{re.escape(PLACEHOLDER)}(?P<path>/[\w./-]+)?@v\d+\b")


def pin_actions(root: Path, image: str) -> list[Path]:
    changed = []
    for path in sorted([root / "action.yml", *root.glob("*/action.yml")]):
        if not path.is_file():
            continue
        text = path.read_text()
        new, count = IMAGE_LINE.subn(rf"\g<indent>image: docker://{image}", text)
        if count != 1:
            raise SystemExit(f"{path}: expected one `image: [../]Dockerfile` line, found {count}")
        path.write_text(new)
        changed.append(path)
    return changed


def pin_reusable_workflows(root: Path, repository: str, ref: str) -> list[Path]:
    changed = []
    for path in sorted((root / ".github" / "workflows").glob("*.yml")):
        text = path.read_text()
        if "workflow_call" not in text:
            continue
        new = PLACEHOLDER_USES.sub(lambda m: f"{repository}{m['path'] or ''}@{ref}", text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def main(argv: list[str], root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="registry/name@sha256:<digest>")
    parser.add_argument("--repository", required=True, help="owner/repo of this repository")
    parser.add_argument("--ref", required=True, help="the release tag, vX.Y.Z")
    args = parser.parse_args(argv)
    if not IMAGE.match(args.image):
        parser.error(f"--image {args.image!r} is not a lower-case image name pinned by digest")
    if not REPOSITORY.match(args.repository):
        parser.error(f"--repository {args.repository!r} is not owner/repo")
    if not REF.match(args.ref):
        parser.error(f"--ref {args.ref!r} is not vX.Y.Z")
    for path in [
        *pin_actions(root, args.image),
        *pin_reusable_workflows(root, args.repository, args.ref),
    ]:
        print(f"pinned {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
