"""Build the action's image and run an action inside it the way GitHub's runner does.

No Docker daemon and no container registry can be reached where the tests run, so:

* the base image is a stand-in for the official ``python:*-slim`` image, made from Debian's
  packages with ``debootstrap`` (bookworm, its ``python3`` is 3.11, the lowest Python the
  package supports) and imported into buildah as ``localhost/debian-python-base:bookworm``;
* the project image is built by buildah from the REAL root ``Dockerfile`` with
  ``--build-arg BASE_IMAGE=localhost/debian-python-base:bookworm`` (and the host's CA bundle
  for pip, see :func:`host_ca_bundle`);
* an action runs in a fresh container of that image with the entrypoint from the image's
  config, the ``INPUT_*``/``GITHUB_*`` environment the runner sets, its ``runs.env``/``runs.args``
  read from the action's ``action.yml``, and ``/github/file_commands``, ``/github/home``,
  ``/github/workflow`` and ``/github/workspace`` bind-mounted from a temporary directory.

buildah keeps its images in a storage of its own under :data:`CACHE_DIR` (outside the
repository), so the base image (about a minute of debootstrap) is built once per machine and
rebuilt only when its recipe changes, and the project image reuses its dependency layer.
Everything here needs root, ``buildah`` and ``debootstrap``: see :func:`missing_requirements`.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO_ROOT / "Dockerfile"

#: Where buildah's storage, the build lock and the debootstrap scratch space live.
CACHE_DIR = Path(os.environ.get("PAGERDUTY_PORT_CONTAINER_CACHE", "/var/tmp/pagerduty-port-images"))

BASE_IMAGE = "localhost/debian-python-base:bookworm"
PROJECT_IMAGE = "localhost/pagerduty-port:test"

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("PAGERDUTY_PORT_DEBIAN_MIRROR", "http://deb.debian.org/debian")
#: What the stand-in adds to debootstrap's minbase: an interpreter that can make virtual
#: environments (python3-venv brings pip's wheel for ensurepip) and the CA certificates that
#: the official slim images carry too.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
#: Bump when the way the base image is made changes, so cached bases are rebuilt.
BASE_RECIPE_VERSION = "1"
BASE_KEY_LABEL = "io.github.pagerduty-port.base-recipe"

#: Where GitHub's runner mounts things inside a Docker action's container.
FILE_COMMANDS = "/github/file_commands"
WORKSPACE = "/github/workspace"
GITHUB_HOME = "/github/home"
GITHUB_WORKFLOW_DIR = "/github/workflow"

#: The path inside the build where the host's CA bundle is mounted for pip.
BUILD_CA_PATH = "/run/host-ca-bundle.crt"

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class ContainerError(RuntimeError):
    """Building or running the image failed (the message carries the tool's output)."""


# --------------------------------------------------------------------------------------------
# What the machine must have
# --------------------------------------------------------------------------------------------


def missing_requirements() -> list[str]:
    """Why the container tier cannot run here; empty when it can."""
    reasons = []
    if not sys.platform.startswith("linux"):
        reasons.append("not Linux")
    elif os.geteuid() != 0:
        reasons.append("not root (buildah with chroot isolation and debootstrap need root)")
    for tool in ("buildah", "debootstrap"):
        if shutil.which(tool) is None:
            reasons.append(f"{tool} is not installed (apt-get install buildah debootstrap)")
    return reasons


def host_ca_bundle() -> Path | None:
    """The CA bundle pip on this host trusts, handed to pip inside the build.

    Here PyPI is reached through a certificate authority only the host's bundle trusts, so
    pip inside the build needs it; on an ordinary machine the bundle is just the system's
    and does no harm. ``PAGERDUTY_PORT_PIP_CERT=""`` turns it off.
    """
    explicit = os.environ.get("PAGERDUTY_PORT_PIP_CERT")
    if explicit is not None:
        return Path(explicit) if explicit else None
    for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value and Path(value).is_file():
            return Path(value)
    default = Path("/etc/ssl/certs/ca-certificates.crt")
    return default if default.is_file() else None


# --------------------------------------------------------------------------------------------
# buildah with a storage of its own
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Buildah:
    """buildah bound to one storage driver and a storage root that only these tests use."""

    driver: str

    @property
    def root(self) -> Path:
        return CACHE_DIR / f"storage-{self.driver}"

    @property
    def runroot(self) -> Path:
        # Per storage root: two roots must never share a runroot.
        tag = hashlib.sha256(str(CACHE_DIR.resolve()).encode()).hexdigest()[:8]
        return Path("/run/pagerduty-port-buildah") / f"{tag}-{self.driver}"

    def command(self, *args: str) -> list[str]:
        return [
            "buildah",
            "--storage-driver",
            self.driver,
            "--root",
            str(self.root),
            "--runroot",
            str(self.runroot),
            *args,
        ]

    def __call__(
        self, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run buildah; on timeout end its whole process group (the container's process too)
        and raise :class:`ContainerError` with what it had printed."""
        cmd = self.command(*args)
        with subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        ) as child:
            try:
                stdout, stderr = child.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                stdout, stderr = child.communicate()
                raise ContainerError(
                    f"{' '.join(cmd[:12])} ... did not finish within {timeout} s\n"
                    f"--- stdout ---\n{stdout[-6000:]}\n--- stderr ---\n{stderr[-6000:]}"
                ) from None
        proc = subprocess.CompletedProcess(cmd, child.returncode, stdout, stderr)
        if check and proc.returncode != 0:
            raise ContainerError(
                f"{' '.join(cmd)} exited {proc.returncode}\n"
                f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
            )
        return proc

    def image_config(self, image: str) -> dict[str, Any]:
        """The OCI config of an image (``Entrypoint``, ``Env``, ``Labels``, ``User`` ...)."""
        data = json.loads(self("inspect", "--type", "image", image).stdout)
        return (data.get("OCIv1") or {}).get("config") or {}

    def has_image(self, image: str) -> bool:
        return self("inspect", "--type", "image", image, check=False).returncode == 0

    @contextlib.contextmanager
    def container(self, image: str) -> Iterator[str]:
        """A working container of ``image``, removed afterwards."""
        name = f"pagerduty-port-{uuid.uuid4().hex[:12]}"
        self("from", "--pull=never", "--name", name, image, timeout=300)
        try:
            yield name
        finally:
            self("rm", name, check=False, timeout=120)


def _driver_works(driver: str) -> bool:
    b = Buildah(driver)
    try:
        b.root.mkdir(parents=True, exist_ok=True)
        probe = b("from", "scratch", timeout=120).stdout.strip()
        try:
            b("mount", probe, timeout=120)
        finally:
            b("rm", probe, check=False, timeout=120)
    except (ContainerError, OSError):
        return False
    return True


@functools.cache
def buildah() -> Buildah:
    """buildah on the overlay driver (fast containers), or vfs where overlay cannot mount.

    ``PAGERDUTY_PORT_STORAGE_DRIVER`` forces one.
    """
    forced = os.environ.get("PAGERDUTY_PORT_STORAGE_DRIVER")
    if forced:
        return Buildah(forced)
    for driver in ("overlay", "vfs"):
        if _driver_works(driver):
            return Buildah(driver)
    raise ContainerError("buildah works with neither the overlay nor the vfs storage driver")


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """Serialise builds between test sessions on the same machine."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _log(message: str) -> None:
    print(f"[container] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The images
# --------------------------------------------------------------------------------------------


def base_recipe_key() -> str:
    recipe = [BASE_RECIPE_VERSION, DEBIAN_SUITE, DEBIAN_MIRROR, *BASE_PACKAGES]
    return hashlib.sha256("\n".join(recipe).encode()).hexdigest()[:16]


def ensure_base_image() -> str:
    """The debootstrapped stand-in for ``python:*-slim``, built unless already cached."""
    b = buildah()
    key = base_recipe_key()
    with _build_lock():
        if b.has_image(BASE_IMAGE):
            labels = b.image_config(BASE_IMAGE).get("Labels") or {}
            if labels.get(BASE_KEY_LABEL) == key:
                return BASE_IMAGE
        started = time.monotonic()
        _log(f"building {BASE_IMAGE} with debootstrap ({DEBIAN_SUITE}, {DEBIAN_MIRROR})")
        with tempfile.TemporaryDirectory(dir=CACHE_DIR, prefix="debootstrap-") as scratch:
            rootfs = Path(scratch) / "rootfs"
            proc = subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(BASE_PACKAGES)}",
                    DEBIAN_SUITE,
                    str(rootfs),
                    DEBIAN_MIRROR,
                ],
                capture_output=True,
                text=True,
                timeout=1200,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            if proc.returncode != 0:
                log = rootfs / "debootstrap" / "debootstrap.log"
                detail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
                raise ContainerError(
                    f"debootstrap exited {proc.returncode}\n{proc.stdout[-4000:]}\n"
                    f"{proc.stderr[-4000:]}\n{detail}"
                )
            # Like the official slim images: no package lists or downloaded packages.
            for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for path in (rootfs / leftover).glob("*"):
                    if path.is_file():
                        path.unlink()
            tarball = Path(scratch) / "rootfs.tar"
            subprocess.run(
                ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."],
                check=True,
                capture_output=True,
                timeout=600,
            )
            shutil.rmtree(rootfs)
            c = b("from", "scratch", timeout=120).stdout.strip()
            try:
                b("add", c, str(tarball), "/", timeout=600)
                b(
                    "config",
                    "--env",
                    "LANG=C.UTF-8",
                    "--env",
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "--cmd",
                    "python3",
                    "--label",
                    f"{BASE_KEY_LABEL}={key}",
                    c,
                )
                b("commit", "--rm", c, BASE_IMAGE, timeout=600)
            except BaseException:
                b("rm", c, check=False)
                raise
        _log(f"built {BASE_IMAGE} in {time.monotonic() - started:.0f} s")
    return BASE_IMAGE


def build_image(
    context: Path = REPO_ROOT,
    *,
    base_image: str | None = None,
    tag: str = PROJECT_IMAGE,
) -> str:
    """Build the project image from ``context``'s real ``Dockerfile``; returns the image id.

    The id (not the tag) is what containers are made from, so a concurrent session that
    rebuilds the tag cannot swap the image under a running test session.
    """
    b = buildah()
    base = base_image or ensure_base_image()
    args = [
        "bud",
        "--isolation",
        "chroot",
        "--layers",
        "--pull=never",
        "--build-arg",
        f"BASE_IMAGE={base}",
    ]
    ca = host_ca_bundle()
    if ca is not None:
        args += [
            "--volume",
            f"{ca.resolve()}:{BUILD_CA_PATH}:ro",
            "--build-arg",
            f"PIP_CERT={BUILD_CA_PATH}",
        ]
    with _build_lock(), tempfile.TemporaryDirectory(dir=CACHE_DIR) as scratch:
        iidfile = Path(scratch) / "iid"
        args += [
            "--iidfile",
            str(iidfile),
            "--file",
            str(context / "Dockerfile"),
            "--tag",
            tag,
            str(context),
        ]
        started = time.monotonic()
        _log(f"building {tag} from {context / 'Dockerfile'} on {base}")
        b(*args, timeout=1800)
        _log(f"built {tag} in {time.monotonic() - started:.0f} s")
        return iidfile.read_text().strip()


@functools.cache
def project_image() -> str:
    """The project image built from the repository's Dockerfile, once per test process."""
    return build_image(REPO_ROOT)


# --------------------------------------------------------------------------------------------
# Running an action the way the runner does
# --------------------------------------------------------------------------------------------


@dataclass
class Result:
    """What one run of an action left behind."""

    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    env_file: str = ""
    command: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """Everything, for an assertion message."""
        return (
            f"exit {self.returncode}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n"
            f"{self.stderr}\n--- outputs ---\n{self.outputs}\n--- summary ---\n{self.summary}"
        )


def parse_file_command(text: str) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT/GITHUB_ENV file: ``name=value`` and ``name<<DELIM`` heredocs."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i].removesuffix("\r")
        i += 1
        if not line.strip():
            continue
        heredoc = line.find("<<")
        equals = line.find("=")
        if heredoc > 0 and (equals < 0 or heredoc < equals):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            body: list[str] = []
            while True:
                if i >= len(lines):
                    raise ValueError(f"heredoc for {name!r} is not closed by {delimiter!r}")
                current = lines[i].removesuffix("\r")
                i += 1
                if current == delimiter:
                    break
                body.append(current)
            values[name] = "\n".join(body)
        elif equals > 0:
            values[line[:equals]] = line[equals + 1 :]
        else:
            raise ValueError(f"invalid file command line: {line!r}")
    return values


def load_action(action_dir: str | Path) -> tuple[Path, dict[str, Any]]:
    """The action's folder and its parsed ``action.yml`` (``action.yaml`` also accepted)."""
    folder = (REPO_ROOT / action_dir).resolve()
    for name in ("action.yml", "action.yaml"):
        path = folder / name
        if path.is_file():
            return folder, yaml.safe_load(path.read_text())
    raise FileNotFoundError(f"no action.yml in {folder}")


def action_exists(action_dir: str | Path) -> bool:
    folder = REPO_ROOT / action_dir
    return (folder / "action.yml").is_file() or (folder / "action.yaml").is_file()


def input_env_name(name: str) -> str:
    """How the runner names an input's variable: upper-cased, spaces to ``_``, ``-`` kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


def _evaluate(value: Any, inputs: Mapping[str, str], where: str) -> str:
    """Substitute the ``${{ inputs.NAME }}`` expressions the runner would; refuse others."""
    text = "" if value is None else str(value)
    if isinstance(value, bool):
        text = "true" if value else "false"

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        found = re.fullmatch(r"inputs\.([A-Za-z0-9_-]+)", expression)
        if found is None:
            raise ContainerError(f"{where}: cannot evaluate ${{{{ {expression} }}}} in tests")
        return inputs.get(found.group(1), "")

    return _EXPRESSION.sub(replace, text)


def _effective_inputs(declared: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    """Given inputs, plus the default (or ``""``) of each declared input left out."""
    values: dict[str, str] = {}
    for name, spec in (declared or {}).items():
        default = (spec or {}).get("default")
        if default is None:
            values[name] = ""
        elif isinstance(default, str) and _EXPRESSION.search(default):
            values[name] = ""  # e.g. ${{ github.token }}: no such context in tests
        elif isinstance(default, bool):
            values[name] = "true" if default else "false"
        else:
            values[name] = str(default)
    values.update(given)
    return values


def run_action(
    action_dir: str | Path,
    inputs: Mapping[str, str],
    env: Mapping[str, str] | None = None,
    *,
    workspace: Path | None = None,
    image: str | None = None,
    event: Mapping[str, Any] | None = None,
    timeout: float = 180,
) -> Result:
    """Run the Docker action in ``action_dir`` (relative to the repository root) in the image.

    ``inputs`` are the step's ``with:`` values (names as in action.yml, hyphens allowed);
    ``env`` adds or overrides variables (the step's ``env:``). ``workspace`` is mounted at
    /github/workspace (a fresh empty folder by default). The action.yml must point at the
    repository's root Dockerfile, so the test runs exactly the image GitHub would build.
    """
    folder, action = load_action(action_dir)
    runs = action.get("runs") or {}
    if runs.get("using") != "docker":
        raise ContainerError(f"{folder}: runs.using is {runs.get('using')!r}, not 'docker'")
    dockerfile = (folder / str(runs.get("image", ""))).resolve()
    if dockerfile != DOCKERFILE.resolve():
        raise ContainerError(
            f"{folder}: runs.image {runs.get('image')!r} is not the repository's Dockerfile"
        )
    values = _effective_inputs(action.get("inputs") or {}, inputs)

    b = buildah()
    image = image or project_image()
    config = b.image_config(image)
    entrypoint = config.get("Entrypoint") or []
    if runs.get("entrypoint"):
        entrypoint = [_evaluate(runs["entrypoint"], values, "runs.entrypoint")]
    args = [_evaluate(a, values, "runs.args") for a in runs.get("args") or []]
    if not entrypoint:
        raise ContainerError(f"image {image} has no entrypoint")

    with tempfile.TemporaryDirectory(prefix="pagerduty-port-run-") as tmp:
        tmp_path = Path(tmp)
        dirs = {
            "file_commands": tmp_path / "_runner_file_commands",
            "home": tmp_path / "_github_home",
            "workflow": tmp_path / "_github_workflow",
        }
        for d in dirs.values():
            d.mkdir()
        ws = workspace or tmp_path / "workspace"
        ws.mkdir(parents=True, exist_ok=True)
        run_id = uuid.uuid4().hex
        files = {
            name: f"{name}_{run_id}"
            for name in ("set_output", "step_summary", "set_env", "save_state", "add_path")
        }
        for filename in files.values():
            (dirs["file_commands"] / filename).touch()
        (dirs["workflow"] / "event.json").write_text(json.dumps(event or {}))

        variables: dict[str, str] = {
            "HOME": GITHUB_HOME,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION": "__run",
            "GITHUB_ACTION_PATH": "",
            "GITHUB_ACTOR": "octocat",
            "GITHUB_API_URL": "https://api.github.com",
            "GITHUB_EVENT_NAME": "workflow_dispatch",
            "GITHUB_EVENT_PATH": f"{GITHUB_WORKFLOW_DIR}/event.json",
            "GITHUB_JOB": "test",
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_REPOSITORY": "example/pagerduty-port-test",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_RUN_ID": "1",
            "GITHUB_RUN_NUMBER": "1",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_SHA": "0" * 40,
            "GITHUB_WORKFLOW": "container test",
            "GITHUB_WORKSPACE": WORKSPACE,
            "GITHUB_OUTPUT": f"{FILE_COMMANDS}/{files['set_output']}",
            "GITHUB_STEP_SUMMARY": f"{FILE_COMMANDS}/{files['step_summary']}",
            "GITHUB_ENV": f"{FILE_COMMANDS}/{files['set_env']}",
            "GITHUB_STATE": f"{FILE_COMMANDS}/{files['save_state']}",
            "GITHUB_PATH": f"{FILE_COMMANDS}/{files['add_path']}",
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "RUNNER_NAME": "container-test",
            "RUNNER_TEMP": "/home/runner/work/_temp",
            "RUNNER_TOOL_CACHE": "/opt/hostedtoolcache",
        }
        variables.update({input_env_name(k): v for k, v in values.items()})
        for name, value in (runs.get("env") or {}).items():
            variables[str(name)] = _evaluate(value, values, f"runs.env.{name}")
        variables.update(env or {})

        command = ["run", "--isolation", "chroot", "--terminal=false", "--workingdir", WORKSPACE]
        for name, value in variables.items():
            command += ["--env", f"{name}={value}"]
        command += [
            "--volume",
            f"{dirs['home']}:{GITHUB_HOME}",
            "--volume",
            f"{dirs['workflow']}:{GITHUB_WORKFLOW_DIR}",
            "--volume",
            f"{dirs['file_commands']}:{FILE_COMMANDS}",
            "--volume",
            f"{ws}:{WORKSPACE}",
        ]
        with b.container(image) as name:
            full = [*command, name, "--", *entrypoint, *args]
            proc = b(*full, check=False, timeout=timeout)

        def read(key: str) -> str:
            return (dirs["file_commands"] / files[key]).read_text(errors="replace")

        return Result(
            returncode=proc.returncode,
            stdout=proc.stdout,
            stderr=_strip_buildah_noise(proc.stderr),
            outputs=parse_file_command(read("set_output")),
            summary=read("step_summary"),
            env_file=read("set_env"),
            command=b.command(*full),
        )


_BUILDAH_EXIT_LINES = re.compile(
    r"^(subprocess exited with status \d+|Error: exit status \d+|"
    r"error while running runtime: exit status \d+)$"
)


def _strip_buildah_noise(stderr: str) -> str:
    """Drop the lines buildah itself adds after a non-zero exit (the action's own stay)."""
    lines = stderr.split("\n")
    while lines and (_BUILDAH_EXIT_LINES.match(lines[-1]) or lines[-1] == ""):
        lines.pop()
    return "\n".join(lines) + ("\n" if lines else "")


def run_in_image(
    argv: Sequence[str], *, image: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run an arbitrary command in a fresh container of the image (no runner environment)."""
    b = buildah()
    image = image or project_image()
    with b.container(image) as name:
        return b("run", "--isolation", "chroot", name, "--", *argv, check=False, timeout=timeout)
