"""Consistency checks over everything users copy: examples/, the reusable workflows, the actions.

Each check is a plain function that returns a list of problems, so the tests below run it on the
real files and also on mutated copies, proving that a broken example turns the suite red.

Port's OpenAPI spec is third-party and never copied into the project: the Port action JSON and
the blueprints are validated against it only when `../shared/contracts/port/apispec.yaml` exists.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts import skip_or_fail

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
PORT_SPEC = REPO.parent / "shared" / "contracts" / "port" / "apispec.yaml"

#: The one thing users edit in a workflow: where they use these actions from.
PLACEHOLDER_REPO = "OWNER/REPO"
PLACEHOLDER_REF = "v1"
#: What users edit in a Port action JSON: the GitHub org and repository holding the workflow.
PORT_ORG = "YOUR_GITHUB_ORG"
PORT_REPO = "YOUR_REPO"

#: The inputs each operation always needs: those its action.yml marks `required: true`
#: (tests/test_action_metadata.py holds the code to the same list). trigger-incident needs
#: `summary` only for `trigger` (see `required_inputs`).
REQUIRED_INPUTS: dict[str, set[str]] = {
    path.parent.name: {
        name
        for name, spec in (yaml.safe_load(path.read_text()).get("inputs") or {}).items()
        if (spec or {}).get("required")
    }
    for path in sorted(REPO.glob("*/action.yml"))
}
#: What Port must put in `port_context` for the actions to find the run, entity and relations.
PORT_CONTEXT_KEYS = {"blueprint", "entity", "run_id", "relations"}
#: GitHub refuses a workflow_dispatch with more inputs than this (the long-standing limit).
MAX_DISPATCH_INPUTS = 10

SHA_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.S)
INPUT_REFERENCE = re.compile(r"\binputs\.([A-Za-z_][\w-]*)")
FORWARDED = re.compile(r"^\$\{\{\s*inputs\.([\w-]+)\s*\}\}$")
FALLBACK = re.compile(r"^\$\{\{\s*[^}]*\|\|\s*'([^']*)'\s*\}\}$")
PORT_INPUT_REFERENCE = re.compile(r"\.inputs(?:\.([A-Za-z_]\w*)|\[\"([^\"]+)\"\]|\.\"([^\"]+)\")")


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    return data if isinstance(data, dict) else {}


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The `on:` mapping (PyYAML reads the bare key `on` as the boolean True)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on or {}


def dispatch_inputs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    on = triggers(workflow)
    if "workflow_dispatch" not in on:
        return None
    return ((on.get("workflow_dispatch") or {}).get("inputs")) or {}


def call_spec(workflow: dict[str, Any]) -> dict[str, Any] | None:
    on = triggers(workflow)
    if "workflow_call" not in on:
        return None
    return on.get("workflow_call") or {}


def call_inputs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    spec = call_spec(workflow)
    return None if spec is None else spec.get("inputs") or {}


def action_names(repo: Path = REPO) -> list[str]:
    """Every sub-action: a folder with an action.yml (the root action is handled apart)."""
    return sorted(p.parent.name for p in repo.glob("*/action.yml"))


def load_action(repo: Path, name: str) -> dict[str, Any] | None:
    """`name` is a sub-action folder, or "" for the root action."""
    path = repo / name / "action.yml" if name else repo / "action.yml"
    return load_yaml(path) if path.exists() else None


def example_workflows(examples: Path = EXAMPLES) -> list[Path]:
    return sorted((examples / "workflows").glob("*.yml"))


def reusable_examples(examples: Path = EXAMPLES) -> list[Path]:
    """Drop-in alternatives to examples/workflows/ that call the reusable workflows."""
    return sorted((examples / "reusable").glob("*.yml"))


def project_workflows(repo: Path = REPO) -> list[Path]:
    return sorted((repo / ".github" / "workflows").glob("*.yml"))


def port_actions(examples: Path = EXAMPLES) -> list[Path]:
    return sorted((examples / "port" / "actions").glob("*.json"))


def blueprints(examples: Path = EXAMPLES) -> list[Path]:
    return sorted((examples / "port" / "blueprints").glob("*.json"))


_OUR_ACTION = re.compile(
    rf"^(?:{re.escape(PLACEHOLDER_REPO)}(?:/(?P<sub>[\w-]+))?@(?P<ref>\S+)"
    rf"|\.(?:/(?P<local>[\w-]+))?/?)$"
)
_OUR_REUSABLE = re.compile(
    rf"^(?:{re.escape(PLACEHOLDER_REPO)}/|\./)\.github/workflows/(?P<file>[\w.-]+\.ya?ml)"
    rf"(?:@(?P<ref>\S+))?$"
)


def our_action(uses: str) -> str | None:
    """The sub-action ("" for the root action) a step's `uses:` points at, if it is ours:
    `OWNER/REPO[/<action>]@ref`, or `./[<action>]` in this repository."""
    match = _OUR_ACTION.match(uses)
    if not match:
        return None
    return match["sub"] or match["local"] or ""


def steps(workflow: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    for job_id, job in (workflow.get("jobs") or {}).items():
        for index, step in enumerate((job or {}).get("steps") or []):
            yield job_id, index, step or {}


def where(path: Path, job: str, index: int | None = None) -> str:
    place = f"{path.name}: job {job}"
    return place if index is None else f"{place} step {index + 1}"


# --------------------------------------------------------------------------------------------
# Checks (each returns a list of problems; empty means fine)
# --------------------------------------------------------------------------------------------


def as_text(value: Any) -> str:
    """A YAML value as the runner passes it to an action (booleans in lower case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def required_inputs(action: str, passed: dict[str, Any]) -> set[str]:
    """The inputs a step calling `action` must pass, given what it does pass."""
    required = set(REQUIRED_INPUTS.get(action, set()))
    if action == "trigger-incident" and str(passed.get("event_action", "")).strip() not in {
        "acknowledge",
        "resolve",
    }:
        required.add("summary")  # trigger (the default) needs a summary
    return required


def declared_workflow_inputs(workflow: dict[str, Any]) -> set[str]:
    names = set(dispatch_inputs(workflow) or {})
    names |= set((call_spec(workflow) or {}).get("inputs") or {})
    return names


def check_input_references(path: Path, workflow: dict[str, Any]) -> list[str]:
    """Every `inputs.x` an expression reads is an input the workflow declares."""
    declared = declared_workflow_inputs(workflow)
    problems = []
    for expression in EXPRESSION.findall(path.read_text()):
        for name in INPUT_REFERENCE.findall(expression):
            if name not in declared:
                problems.append(f"{path.name}: reads inputs.{name}, which it does not declare")
    return sorted(set(problems))


def check_action_steps(path: Path, workflow: dict[str, Any], repo: Path = REPO) -> list[str]:
    """Steps that use one of our actions pass only inputs the action declares, and pass
    every input its operation requires (a literal fallback equals the action's default)."""
    problems = []
    for job, index, step in steps(workflow):
        uses = str(step.get("uses", ""))
        name = our_action(uses)
        if name is None:
            if "OWNER/REPO" in uses and not _OUR_REUSABLE.match(uses):
                problems.append(
                    f"{where(path, job, index)}: uses {uses!r}; use {PLACEHOLDER_REPO}/<action>@"
                    f"{PLACEHOLDER_REF}"
                )
            continue
        if not uses.startswith(".") and not uses.endswith(f"@{PLACEHOLDER_REF}"):
            problems.append(f"{where(path, job, index)}: uses {uses!r}; pin @{PLACEHOLDER_REF}")
        action = load_action(repo, name)
        label = name or "the root action"
        if action is None:
            problems.append(f"{where(path, job, index)}: uses {uses!r}, which has no action.yml")
            continue
        declared = action.get("inputs") or {}
        passed = {k: v for k, v in (step.get("with") or {}).items()}
        for key in passed:
            if key not in declared:
                problems.append(
                    f"{where(path, job, index)}: passes {key!r}, which {label} does not declare"
                )
        operation = name or str(passed.get("operation", ""))
        for key in sorted(required_inputs(operation, passed)):
            if str(passed.get(key) or "").strip() == "":
                problems.append(
                    f"{where(path, job, index)}: does not pass {key!r}, which {operation} requires"
                )
        own_inputs = {**(dispatch_inputs(workflow) or {}), **(call_inputs(workflow) or {})}
        for key, value in passed.items():
            default = (declared.get(key) or {}).get("default")
            if default is None:
                continue
            fallback = FALLBACK.match(str(value))
            forwarded = FORWARDED.match(str(value))
            if forwarded and "default" in (own_inputs.get(forwarded[1]) or {}):
                fallback_value = as_text(own_inputs[forwarded[1]]["default"])
            elif fallback:
                fallback_value = fallback[1]
            else:
                continue
            if fallback_value != as_text(default):
                problems.append(
                    f"{where(path, job, index)}: falls back to {fallback_value!r} for {key!r}; "
                    f"{label} defaults to {default!r}"
                )
    return problems


def check_reusable_calls(path: Path, workflow: dict[str, Any], repo: Path = REPO) -> list[str]:
    """Jobs that call one of our reusable workflows pass only declared inputs and secrets,
    and every input and secret it marks required."""
    problems = []
    for job_id, job in (workflow.get("jobs") or {}).items():
        uses = str((job or {}).get("uses", ""))
        match = _OUR_REUSABLE.match(uses)
        if not match:
            continue
        target = repo / ".github" / "workflows" / match["file"]
        if not target.exists():
            problems.append(f"{where(path, job_id)}: calls {uses!r}, which does not exist")
            continue
        spec = call_spec(load_yaml(target))
        if spec is None:
            problems.append(f"{where(path, job_id)}: calls {match['file']}, not on workflow_call")
            continue
        for kind, passed in (("input", job.get("with")), ("secret", job.get("secrets"))):
            declared = spec.get(f"{kind}s") or {}
            if passed == "inherit":
                problems.append(
                    f"{where(path, job_id)}: passes {kind}s: inherit, which hands over every "
                    f"{kind}; pass each one {match['file']} declares by name"
                )
                continue
            given = passed or {}
            for key in given:
                if key not in declared:
                    problems.append(
                        f"{where(path, job_id)}: passes {kind} {key!r}, which "
                        f"{match['file']} does not declare"
                    )
            for key, decl in declared.items():
                if (decl or {}).get("required") and key not in given:
                    problems.append(
                        f"{where(path, job_id)}: does not pass {kind} {key!r}, which "
                        f"{match['file']} requires"
                    )
            for key, value in given.items():
                fallback = FALLBACK.match(str(value))
                default = (declared.get(key) or {}).get("default")
                if fallback and default is not None and fallback[1] != as_text(default):
                    problems.append(
                        f"{where(path, job_id)}: falls back to {fallback[1]!r} for {key!r}; "
                        f"{match['file']} defaults to {as_text(default)!r}"
                    )
    return problems


def check_run_scripts(path: Path, workflow: dict[str, Any]) -> list[str]:
    """No `${{ }}` inside a `run:` script: values reach scripts through `env:` only."""
    return [
        f"{where(path, job, index)}: has ${{{{ }}}} inside run:; pass it through env:"
        for job, index, step in steps(workflow)
        if "${{" in str(step.get("run", ""))
    ]


def check_hardening(path: Path, workflow: dict[str, Any]) -> list[str]:
    """Least-privilege permissions, no persisted checkout credentials, SHA-pinned actions."""
    problems = []
    permissions = workflow.get("permissions")
    if permissions not in ({}, {"contents": "read"}):
        problems.append(f"{path.name}: top-level permissions must be {{}} or contents: read")
    lines = path.read_text().splitlines()
    for job, index, step in steps(workflow):
        uses = str(step.get("uses", ""))
        if not uses or uses.startswith(("./", "docker://")) or our_action(uses) is not None:
            continue
        if not SHA_PINNED.match(uses):
            problems.append(f"{where(path, job, index)}: {uses!r} is not pinned to a commit SHA")
        elif not any(uses in line and re.search(r"#\s*v\d", line) for line in lines):
            problems.append(f"{where(path, job, index)}: {uses!r} has no '# vX.Y.Z' comment")
        if (
            uses.startswith("actions/checkout@")
            and (step.get("with") or {}).get("persist-credentials") is not False
        ):
            problems.append(
                f"{where(path, job, index)}: checkout without persist-credentials: false"
            )
    for job_id, job in (workflow.get("jobs") or {}).items():
        uses = str((job or {}).get("uses", ""))
        if uses and not _OUR_REUSABLE.match(uses) and not SHA_PINNED.match(uses):
            problems.append(f"{where(path, job_id)}: {uses!r} is not pinned to a commit SHA")
    return problems


def check_workflow(path: Path, repo: Path = REPO) -> list[str]:
    workflow = load_yaml(path)
    return [
        *check_input_references(path, workflow),
        *check_action_steps(path, workflow, repo),
        *check_reusable_calls(path, workflow, repo),
        *check_run_scripts(path, workflow),
        *check_hardening(path, workflow),
    ]


def port_input_references(template: Any) -> set[str]:
    text = json.dumps(template)
    return {next(g for g in m.groups() if g) for m in PORT_INPUT_REFERENCE.finditer(text)}


def _input_names(value: Any) -> set[str]:
    return {name for e in EXPRESSION.findall(str(value)) for name in INPUT_REFERENCE.findall(e)}


def feeds_required(path: Path, repo: Path = REPO) -> dict[str, str]:
    """The workflow's own inputs that reach a required input of one of our actions (through a
    step, or through a call of our reusable workflow): {its input: the action input it feeds}."""
    workflow = load_yaml(path)
    fed: dict[str, str] = {}
    for _, _, step in steps(workflow):
        name = our_action(str(step.get("uses", "")))
        if name is None:
            continue
        passed = step.get("with") or {}
        operation = name or str(passed.get("operation", ""))
        for key in REQUIRED_INPUTS.get(operation, set()):  # `required: true`: always needed
            for source in _input_names(passed.get(key, "")):
                fed.setdefault(source, f"{operation}'s {key}")
    for job in (workflow.get("jobs") or {}).values():
        match = _OUR_REUSABLE.match(str((job or {}).get("uses", "")))
        target = repo / ".github" / "workflows" / match["file"] if match else None
        if target is None or not target.is_file():
            continue
        for key, action_input in feeds_required(target, repo).items():
            for source in _input_names((job.get("with") or {}).get(key, "")):
                fed.setdefault(source, action_input)
    return fed


def check_port_action(path: Path, examples: Path = EXAMPLES, repo: Path = REPO) -> list[str]:
    """A Port action JSON dispatches an example workflow with inputs it declares, and sends
    every input the workflow passes on to a required input of our action (such as `from`)."""
    action = json.loads(path.read_text())
    name = path.name
    method = action.get("invocationMethod") or {}
    problems = []
    if method.get("type") != "GITHUB":
        return [f"{name}: invocationMethod.type is not GITHUB"]
    if method.get("reportWorkflowStatus") is not True:
        problems.append(f"{name}: set reportWorkflowStatus: true")
    if (method.get("org"), method.get("repo")) != (PORT_ORG, PORT_REPO):
        problems.append(f"{name}: org/repo must be the placeholders {PORT_ORG}/{PORT_REPO}")
    workflow_path = examples / "workflows" / str(method.get("workflow"))
    if not workflow_path.is_file():
        return [*problems, f"{name}: workflow {method.get('workflow')!r} is not in examples/"]
    inputs = dispatch_inputs(load_yaml(workflow_path))
    if inputs is None:
        return [*problems, f"{name}: {workflow_path.name} has no workflow_dispatch trigger"]
    given = method.get("workflowInputs") or {}
    for key in given:
        if key not in inputs:
            problems.append(
                f"{name}: workflowInputs {key!r} is not an input of {workflow_path.name}"
            )
    for key, spec in inputs.items():
        if (spec or {}).get("required") and key not in given:
            problems.append(f"{name}: does not send {key!r}, which {workflow_path.name} requires")
    for key, action_input in sorted(feeds_required(workflow_path, repo).items()):
        if key in inputs and key not in given:
            problems.append(
                f"{name}: does not send {key!r}, which {workflow_path.name} passes as "
                f"{action_input} (required)"
            )
    context = given.get("port_context")
    if not isinstance(context, dict) or set(context) < PORT_CONTEXT_KEYS:
        problems.append(f"{name}: port_context must carry {sorted(PORT_CONTEXT_KEYS)}")
    user_inputs = ((action.get("trigger") or {}).get("userInputs")) or {}
    properties = user_inputs.get("properties") or {}
    for ref in sorted(port_input_references(given)):
        if ref not in properties:
            problems.append(f"{name}: workflowInputs reads .inputs.{ref}, not a user input")
    for key in [*(user_inputs.get("required") or []), *(user_inputs.get("order") or [])]:
        if key not in properties:
            problems.append(f"{name}: userInputs lists {key!r}, which it does not define")
    return problems


def check_dispatch_workflow(path: Path) -> list[str]:
    """A workflow Port dispatches takes `port_context` and fits GitHub's input limit."""
    inputs = dispatch_inputs(load_yaml(path))
    if inputs is None:
        return []
    problems = []
    if "port_context" not in inputs:
        problems.append(f"{path.name}: workflow_dispatch has no port_context input")
    if len(inputs) > MAX_DISPATCH_INPUTS:
        problems.append(f"{path.name}: {len(inputs)} dispatch inputs (> {MAX_DISPATCH_INPUTS})")
    for key, spec in inputs.items():
        if (spec or {}).get("type", "string") not in {"string", "choice", "boolean", "number"}:
            problems.append(f"{path.name}: input {key!r} has an unknown type")
    return problems


def check_examples(examples: Path = EXAMPLES, repo: Path = REPO) -> list[str]:
    """Everything about examples/ that can be checked without Port's spec."""
    problems = []
    for workflow in [*example_workflows(examples), *reusable_examples(examples)]:
        problems += check_workflow(workflow, repo)
        problems += check_dispatch_workflow(workflow)
    for workflow in reusable_examples(examples):
        twin = examples / "workflows" / workflow.name
        if not twin.is_file():
            problems.append(f"reusable/{workflow.name}: no examples/workflows/{workflow.name}")
        elif dispatch_inputs(load_yaml(workflow)) != dispatch_inputs(load_yaml(twin)):
            problems.append(
                f"reusable/{workflow.name}: its inputs differ from workflows/{workflow.name}, "
                "so the Port action JSON cannot dispatch both"
            )
    for action in port_actions(examples):
        problems += check_port_action(action, examples, repo)
    return problems


def check_root_action(repo: Path = REPO) -> list[str]:
    """The root action declares the union of the sub-actions' inputs, and an input whose
    default differs between operations has none there."""
    root = load_action(repo, "")
    if root is None:
        return ["action.yml is missing"]
    problems = []
    root_inputs = root.get("inputs") or {}
    subs = {name: load_action(repo, name) or {} for name in action_names(repo)}
    for name, action in subs.items():
        for key in action.get("inputs") or {}:
            if key not in root_inputs:
                problems.append(f"action.yml does not declare {key!r} (an input of {name})")
    for key, spec in root_inputs.items():
        if "default" not in (spec or {}):
            continue
        for name, action in subs.items():
            declared = (action.get("inputs") or {}).get(key)
            if declared is not None and as_text(declared.get("default")) != as_text(
                spec["default"]
            ):
                problems.append(
                    f"action.yml gives {key!r} a default ({spec['default']!r}), but {name} "
                    f"defaults to {declared.get('default')!r}: leave it to each operation"
                )
    return problems


README_SNIPPET = re.compile(r"^```ya?ml\n(.*?)^```", re.S | re.M)


def check_readme_snippets(readme: Path = REPO / "README.md", repo: Path = REPO) -> list[str]:
    """The README's YAML snippets call our actions and reusable workflows as the examples must:
    every required input passed, secrets by name. A bare list of steps is read as one job."""
    problems = []
    for number, block in enumerate(README_SNIPPET.findall(readme.read_text()), start=1):
        data = yaml.safe_load(block)
        if isinstance(data, list):
            data = {"jobs": {"snippet": {"steps": data}}}
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
            continue
        label = Path(f"{readme.name} snippet {number}")
        problems += check_action_steps(label, data, repo)
        problems += check_reusable_calls(label, data, repo)
    return problems


# --------------------------------------------------------------------------------------------
# Port's spec (only when ../shared/contracts is present)
# --------------------------------------------------------------------------------------------


def _rewrite_letters(pattern: str) -> str:
    """`[\\p{L}...]` is not Python `re` syntax: a letter is `[^\\W\\d_]` there."""
    return re.sub(r"\[\\p\{L\}([^\]]*)\]", r"(?:[^\\W\\d_]|[\1])", pattern)


def _patched(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _rewrite_letters(v) if k == "pattern" and isinstance(v, str) else _patched(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_patched(v) for v in node]
    return node


@cache
def port_spec() -> dict[str, Any] | None:
    if not PORT_SPEC.is_file():
        return None
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    # misc, valid-type: the base is chosen at run time (libyaml's loader when built with it).
    class Loader(base):  # type: ignore[misc, valid-type]
        pass

    # An unquoted `operator: =` in the spec is YAML's "value" tag: read it as the string "=".
    Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: node.value)
    return _patched(yaml.load(PORT_SPEC.read_text(), Loader=Loader))


def port_request_validator(spec: dict[str, Any], path: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource("urn:port", DRAFT202012.create_resource(spec))
    escaped = path.replace("~", "~0").replace("/", "~1")
    pointer = f"urn:port#/paths/{escaped}/post/requestBody/content/application~1json/schema"
    return Draft202012Validator({"$ref": pointer}, registry=registry)


def check_against_spec(files: list[Path], api_path: str) -> list[str]:
    spec = port_spec()
    if spec is None:
        return []
    validator = port_request_validator(spec, api_path)
    problems = []
    for path in files:
        for error in validator.iter_errors(json.loads(path.read_text())):
            location = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{path.name}: {location}: {error.message[:300]}")
    return problems


# --------------------------------------------------------------------------------------------
# Tests on the real files
# --------------------------------------------------------------------------------------------


def test_there_is_an_example_for_every_action() -> None:
    dispatched = {
        our_action(str(step.get("uses", "")))
        for path in example_workflows()
        for _, _, step in steps(load_yaml(path))
    }
    missing = [name for name in action_names() if name not in dispatched]
    assert not missing, f"no example workflow uses: {missing}"
    targets = {json.loads(p.read_text())["invocationMethod"]["workflow"] for p in port_actions()}
    for path in example_workflows():
        inputs = dispatch_inputs(load_yaml(path))
        if inputs is not None and "port_context" in inputs:
            assert path.name in targets, f"no Port action JSON dispatches {path.name}"


def test_examples_are_consistent() -> None:
    problems = check_examples()
    assert not problems, "\n".join(problems)


def test_readme_snippets_pass_every_required_input_and_name_their_secrets() -> None:
    problems = check_readme_snippets()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", reusable_examples(), ids=lambda p: p.name)
def test_a_reusable_example_passes_on_what_its_twin_does(path: Path) -> None:
    """The Port action JSON is checked against examples/workflows/: the reusable copy must pass
    the same dispatch inputs on to the action's required inputs (such as `from`)."""
    twin = EXAMPLES / "workflows" / path.name
    assert feeds_required(path) == feeds_required(twin)


@pytest.mark.parametrize("path", project_workflows(), ids=lambda p: p.name)
def test_project_workflows_are_consistent_and_hardened(path: Path) -> None:
    problems = check_workflow(path)
    assert not problems, "\n".join(problems)


def test_every_action_has_a_reusable_workflow() -> None:
    reusable = {}
    for path in project_workflows():
        spec = call_spec(load_yaml(path))
        if spec is not None:
            reusable[path.stem] = path
    assert sorted(reusable) == sorted(set(reusable) | set(action_names())), (
        f"missing reusable workflows for {sorted(set(action_names()) - set(reusable))}"
    )
    for name in action_names():
        workflow = load_yaml(reusable[name])
        used = {our_action(str(step.get("uses", ""))) for _, _, step in steps(workflow)}
        assert name in used, f"{name}.yml does not use the {name} action"
        spec = call_spec(workflow)
        assert spec is not None, f"{name}.yml is not a reusable workflow"
        declared_secrets = spec.get("secrets") or {}
        assert declared_secrets, f"{name}.yml declares no secrets"


def test_root_action_is_generated_and_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "root_action.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_root_action_declares_the_union_without_conflicting_defaults() -> None:
    problems = check_root_action()
    assert not problems, "\n".join(problems)
    root = load_action(REPO, "")
    assert root is not None, "no root action.yml"
    root_inputs = root["inputs"]
    assert "default" not in root_inputs["urgency"], "escalate must never change urgency unasked"


def test_example_blueprints_are_the_packaged_ones() -> None:
    if not (REPO / "src" / "pagerduty_port" / "blueprints").is_dir():
        pytest.skip("the package has no blueprints yet")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "example_blueprints.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert blueprints(), "examples/port/blueprints is empty"


def test_blueprint_relations_point_at_shipped_blueprints() -> None:
    shipped = {json.loads(p.read_text())["identifier"] for p in blueprints()}
    for path in blueprints():
        for name, relation in (json.loads(path.read_text()).get("relations") or {}).items():
            assert relation["target"] in shipped, f"{path.name}: relation {name} -> unknown target"
    for path in port_actions():
        trigger = json.loads(path.read_text())["trigger"]
        if trigger.get("blueprintIdentifier"):
            assert trigger["blueprintIdentifier"] in shipped, f"{path.name}: unknown blueprint"
        for spec in (trigger.get("userInputs") or {}).get("properties", {}).values():
            if spec.get("format") == "entity":
                assert spec["blueprint"] in shipped, f"{path.name}: unknown input blueprint"


def test_port_actions_validate_against_ports_spec() -> None:
    if port_spec() is None:
        skip_or_fail("../shared/contracts/port/apispec.yaml is not present")
    problems = check_against_spec(port_actions(), "/v1/actions")
    assert not problems, "\n".join(problems)


def test_blueprints_validate_against_ports_spec() -> None:
    if port_spec() is None:
        skip_or_fail("../shared/contracts/port/apispec.yaml is not present")
    assert blueprints(), "examples/port/blueprints is empty"
    problems = check_against_spec(blueprints(), "/v1/blueprints")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------------------------
# The checks catch broken copies
# --------------------------------------------------------------------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the repository's examples, actions and workflows to break."""
    for name in action_names():
        (tmp_path / name).mkdir()
        shutil.copy(REPO / name / "action.yml", tmp_path / name / "action.yml")
    shutil.copy(REPO / "action.yml", tmp_path / "action.yml")
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    if (REPO / ".github" / "workflows").is_dir():
        shutil.copytree(REPO / ".github" / "workflows", tmp_path / ".github" / "workflows")
    return tmp_path


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, count))


def test_the_copy_is_clean(copy: Path) -> None:
    assert check_examples(copy / "examples", copy) == []
    assert check_root_action(copy) == []


def test_a_renamed_workflow_input_is_reported(copy: Path) -> None:
    workflow = copy / "examples" / "workflows" / "pagerduty-create-incident.yml"
    edit(workflow, "      title:\n", "      incident_title:\n")
    problems = check_examples(copy / "examples", copy)
    assert any("workflowInputs 'title' is not an input" in p for p in problems), problems
    assert any("reads inputs.title" in p for p in problems), problems


def test_an_expression_in_a_run_script_is_reported(copy: Path) -> None:
    workflow = copy / "examples" / "workflows" / "pagerduty-escalate.yml"
    edit(
        workflow,
        "    steps:\n",
        '    steps:\n      - run: echo "${{ inputs.urgency }}"\n',
    )
    problems = check_examples(copy / "examples", copy)
    assert any("inside run:" in p for p in problems), problems


def test_an_input_the_action_does_not_declare_is_reported(copy: Path) -> None:
    workflow = copy / "examples" / "workflows" / "pagerduty-escalate.yml"
    edit(workflow, "          urgency: ${{", "          priority_level: ${{")
    problems = check_examples(copy / "examples", copy)
    assert any("'priority_level', which escalate does not declare" in p for p in problems)


def test_an_input_renamed_in_the_action_is_reported(copy: Path) -> None:
    edit(copy / "create-incident" / "action.yml", "  details:\n", "  body:\n")
    problems = check_examples(copy / "examples", copy)
    assert any("'details', which create-incident does not declare" in p for p in problems)
    assert any("does not declare 'body'" in p for p in check_root_action(copy))


def test_a_missing_required_input_is_reported(copy: Path) -> None:
    workflow = copy / "examples" / "workflows" / "pagerduty-create-incident.yml"
    text = workflow.read_text()
    workflow.write_text(re.sub(r"\n *from: \$\{\{[^\n]*", "", text))
    problems = check_examples(copy / "examples", copy)
    assert any("does not pass 'from', which create-incident requires" in p for p in problems)


def test_a_required_dispatch_input_port_does_not_send_is_reported(copy: Path) -> None:
    action = copy / "examples" / "port" / "actions" / "create-incident.json"
    data = json.loads(action.read_text())
    del data["invocationMethod"]["workflowInputs"]["port_context"]
    action.write_text(json.dumps(data))
    problems = check_examples(copy / "examples", copy)
    assert any("does not send 'port_context'" in p for p in problems), problems


def test_a_port_input_that_is_not_a_user_input_is_reported(copy: Path) -> None:
    action = copy / "examples" / "port" / "actions" / "escalate.json"
    edit(action, '"urgency": {', '"priority": {')
    problems = check_examples(copy / "examples", copy)
    assert any("reads .inputs.urgency" in p for p in problems), problems


def test_a_default_on_urgency_in_the_root_action_is_reported(copy: Path) -> None:
    root = copy / "action.yml"
    data = load_yaml(root)
    data["inputs"]["urgency"]["default"] = "high"
    root.write_text(yaml.safe_dump(data, sort_keys=False))
    assert any("'urgency' a default" in p for p in check_root_action(copy))


def test_an_unpinned_third_party_action_is_reported(copy: Path) -> None:
    workflows = sorted((copy / ".github" / "workflows").glob("*.yml"))
    pinned = [p for p in workflows if "actions/checkout@" in p.read_text()]
    if not pinned:
        pytest.skip("no project workflow checks out code")
    text = pinned[0].read_text()
    pinned[0].write_text(re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v5", text))
    problems = check_workflow(pinned[0], copy)
    assert any("not pinned to a commit SHA" in p for p in problems), problems


def test_a_persisted_checkout_token_is_reported(copy: Path) -> None:
    workflows = sorted((copy / ".github" / "workflows").glob("*.yml"))
    pinned = [p for p in workflows if "persist-credentials: false" in p.read_text()]
    if not pinned:
        pytest.skip("no project workflow checks out code")
    edit(pinned[0], "persist-credentials: false", "persist-credentials: true")
    problems = check_workflow(pinned[0], copy)
    assert any("persist-credentials" in p for p in problems), problems


def test_a_changed_fallback_default_is_reported(copy: Path) -> None:
    workflow = copy / "examples" / "workflows" / "pagerduty-create-incident.yml"
    edit(workflow, "'https://api.getport.io'", "'https://api.port.io'")
    problems = check_examples(copy / "examples", copy)
    assert any("falls back to 'https://api.port.io'" in p for p in problems), problems


def test_a_reusable_example_whose_inputs_drift_is_reported(copy: Path) -> None:
    workflow = copy / "examples" / "reusable" / "pagerduty-escalate.yml"
    edit(workflow, "      urgency:\n", "      new_urgency:\n")
    edit(workflow, "urgency: ${{ inputs.urgency }}", "urgency: ${{ inputs.new_urgency }}")
    problems = check_examples(copy / "examples", copy)
    assert any("inputs differ from workflows/pagerduty-escalate.yml" in p for p in problems)


def test_a_reusable_call_with_an_unknown_input_is_reported(copy: Path) -> None:
    workflow = copy / "examples" / "reusable" / "pagerduty-create-incident.yml"
    edit(workflow, "      details: ${{", "      body: ${{")
    problems = check_examples(copy / "examples", copy)
    assert any("passes input 'body', which create-incident.yml" in p for p in problems)


def test_a_reusable_default_that_drifts_from_the_action_is_reported(copy: Path) -> None:
    workflow = copy / ".github" / "workflows" / "escalate.yml"
    edit(workflow, "default: https://api.pagerduty.com", "default: https://api.eu.pagerduty.com")
    problems = check_workflow(workflow, copy)
    assert any("falls back to 'https://api.eu.pagerduty.com'" in p for p in problems), problems


def test_a_reusable_call_whose_fallback_drifts_is_reported(copy: Path) -> None:
    workflow = copy / "examples" / "reusable" / "pagerduty-sync.yml"
    edit(workflow, "|| 'https://api.getport.io'", "|| 'https://api.us.port.io'")
    problems = check_examples(copy / "examples", copy)
    assert any("falls back to 'https://api.us.port.io'" in p for p in problems), problems


def test_a_reusable_call_with_secrets_inherit_is_reported(copy: Path) -> None:
    workflow = copy / "examples" / "reusable" / "pagerduty-update-incident.yml"
    text = workflow.read_text()
    workflow.write_text(re.sub(r"    secrets:\n(      .*\n)+", "    secrets: inherit\n", text))
    problems = check_examples(copy / "examples", copy)
    assert any("passes secrets: inherit" in p for p in problems), problems


def test_a_port_action_that_does_not_send_from_is_reported(copy: Path) -> None:
    action = copy / "examples" / "port" / "actions" / "change-oncall.json"
    data = json.loads(action.read_text())
    del data["invocationMethod"]["workflowInputs"]["from"]
    action.write_text(json.dumps(data))
    problems = check_examples(copy / "examples", copy)
    assert any("does not send 'from'" in p and "change-oncall's from" in p for p in problems)


def test_a_reusable_example_that_drops_from_is_reported(copy: Path) -> None:
    workflow = copy / "examples" / "reusable" / "pagerduty-update-incident.yml"
    edit(workflow, "      from: ${{ inputs.from }}\n", "")
    assert "from" not in feeds_required(workflow, copy)
    assert "from" in feeds_required(copy / "examples" / "workflows" / workflow.name, copy)


def test_a_readme_snippet_without_a_required_input_or_with_inherit_is_reported(
    tmp_path: Path,
) -> None:
    readme = tmp_path / "README.md"
    text = (REPO / "README.md").read_text()
    start = text.index("OWNER/REPO/update-incident@v1")
    text = text[:start] + text[start:].replace("          from: oncall-bot@example.com\n", "", 1)
    text = re.sub(r"    secrets: \{[^\n]*\}", "    secrets: inherit", text, count=1)
    readme.write_text(text)
    problems = check_readme_snippets(readme)
    assert any("does not pass 'from', which update-incident requires" in p for p in problems)
    assert any("passes secrets: inherit" in p for p in problems), problems


def test_a_broken_port_action_fails_the_spec_check(tmp_path: Path) -> None:
    if port_spec() is None:
        skip_or_fail("../shared/contracts/port/apispec.yaml is not present")
    data = json.loads((EXAMPLES / "port" / "actions" / "create-incident.json").read_text())
    data["invocationMethod"]["workflowInput"] = data["invocationMethod"].pop("workflowInputs")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    assert check_against_spec([broken], "/v1/actions")


def test_a_broken_blueprint_fails_the_spec_check(tmp_path: Path) -> None:
    if port_spec() is None or not blueprints():
        skip_or_fail("no spec or no blueprints")
    data = json.loads(blueprints()[0].read_text())
    data["identifier"] = "has spaces"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    assert check_against_spec([broken], "/v1/blueprints")


# --------------------------------------------------------------------------------------------
# The release rewrite (scripts/pin_release.py, run by .github/workflows/release.yml)
# --------------------------------------------------------------------------------------------

DIGEST = "sha256:" + "ab" * 32


def _pin_release() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "pin_release", REPO / "scripts" / "pin_release.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_release_pins_every_action_and_reusable_workflow(copy: Path) -> None:
    pin = _pin_release()
    image = f"ghcr.io/acme/pagerduty-port-actions@{DIGEST}"
    assert pin.main(["--image", image, "--repository", "acme/pd", "--ref", "v1.4.0"], copy) == 0
    for path in [copy / "action.yml", *copy.glob("*/action.yml")]:
        assert load_yaml(path)["runs"]["image"] == f"docker://{image}", path
    for path in (copy / ".github" / "workflows").glob("*.yml"):
        workflow = load_yaml(path)
        if call_spec(workflow) is None:
            continue
        text = path.read_text()
        assert PLACEHOLDER_REPO not in text, path
        uses = {str(step.get("uses")) for _, _, step in steps(workflow)}
        assert f"acme/pd/{path.stem}@v1.4.0" in uses, (path, uses)
    # main itself keeps building from the Dockerfile, so forks work
    for path in REPO.glob("*/action.yml"):
        assert load_yaml(path)["runs"]["image"] == "../Dockerfile", path


@pytest.mark.parametrize(
    "args",
    [
        ["--image", "ghcr.io/acme/pd:latest", "--repository", "acme/pd", "--ref", "v1.0.0"],
        ["--image", f"ghcr.io/acme/pd@{DIGEST}", "--repository", "acme", "--ref", "v1.0.0"],
        ["--image", f"ghcr.io/acme/pd@{DIGEST}", "--repository", "acme/pd", "--ref", "1.0"],
    ],
)
def test_the_release_refuses_unpinned_or_malformed_arguments(copy: Path, args: list[str]) -> None:
    with pytest.raises(SystemExit):
        _pin_release().main(args, copy)
    assert load_yaml(copy / "create-incident" / "action.yml")["runs"]["image"] == "../Dockerfile"


def test_the_documented_blueprint_order_creates_relation_targets_first() -> None:
    text = (EXAMPLES / "README.md").read_text()
    section = text[text.index("Create the blueprints") :]
    order = re.findall(r"`(pagerduty\w+)`", section.split("—")[0])
    shipped = {
        json.loads(p.read_text())["identifier"]: json.loads(p.read_text()) for p in blueprints()
    }
    assert sorted(order) == sorted(shipped), order
    for position, identifier in enumerate(order):
        for relation in (shipped[identifier].get("relations") or {}).values():
            assert relation["target"] in order[:position], (
                f"{identifier} before {relation['target']}"
            )
