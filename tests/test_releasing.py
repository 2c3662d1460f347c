"""RELEASING.md and the release workflow agree, and the release procedure works end to end on a
scratch copy of the repository: pin, commit, tag vX.Y.Z, move v1 (everything but GitHub)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
RELEASING = REPO / "RELEASING.md"
DIGEST = "ab" * 32


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout


def test_releasing_documents_the_placeholder_the_release_rewrites() -> None:
    text = RELEASING.read_text()
    script = (REPO / "scripts" / "pin_release.py").read_text()
    found = re.search(r'^PLACEHOLDER = "([^"]+)"', script, re.M)
    assert found, "scripts/pin_release.py defines no PLACEHOLDER"
    placeholder = found[1]
    assert f"**`{placeholder}`**" in text
    for step in ("vX.Y.Z", "`v1`", "sha256", "scripts/pin_release.py", "ghcr.io"):
        assert step in text, step


def test_the_release_workflow_does_what_releasing_md_says() -> None:
    workflow = (REPO / ".github" / "workflows" / "release.yml").read_text()
    yaml.safe_load(workflow)
    assert re.search(r"scripts/pin_release\.py --image \S+ --repository \S+ --ref \S+", workflow)
    assert 'git tag --annotate "$TAG"' in workflow
    assert 'git tag --force "$MAJOR"' in workflow


def test_a_rehearsed_release_pins_tags_and_moves_v1(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(
        REPO,
        copy,
        ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "*.egg-info", "__pycache__"),
    )
    git(copy, "init", "-q", "-b", "main")
    git(copy, "add", "-A")
    git(copy, "commit", "-qm", "main")
    main = git(copy, "rev-parse", "HEAD").strip()
    git(copy, "tag", "v1")  # the previous release

    image = f"ghcr.io/acme/pagerduty-port-actions@sha256:{DIGEST}"
    subprocess.run(
        [
            sys.executable,
            str(copy / "scripts" / "pin_release.py"),
            "--image",
            image,
            "--repository",
            "acme/pagerduty-port-actions",
            "--ref",
            "v1.4.0",
        ],
        check=True,
        capture_output=True,
    )
    git(copy, "commit", "-qam", "Release v1.4.0")
    git(copy, "tag", "--annotate", "v1.4.0", "--message", "v1.4.0")
    git(copy, "tag", "--force", "v1")

    release = git(copy, "rev-parse", "v1.4.0^{commit}").strip()
    assert git(copy, "rev-parse", "v1^{commit}").strip() == release != main
    for action in ("action.yml", "sync/action.yml", "create-incident/action.yml"):
        shown = yaml.safe_load(git(copy, "show", f"v1.4.0:{action}"))
        assert shown["runs"]["image"] == f"docker://{image}", action
        # main still builds from source
        assert (
            "Dockerfile" in yaml.safe_load(git(copy, "show", f"{main}:{action}"))["runs"]["image"]
        )
    reusable = git(copy, "show", "v1.4.0:.github/workflows/sync.yml")
    assert "OWNER/REPO" not in reusable.split("\non:", 1)[1]
    assert "acme/pagerduty-port-actions/sync@v1.4.0" in reusable
