#!/usr/bin/env bash
# Fetch the official API specs the contract tests validate against, at pinned commits, check
# their sha256, and lay them out where tests/contracts.py looks: ../shared/contracts/ next to
# the repository (or the folder given as $1).
#
# The specs are third-party files without an open licence, so the project never copies them:
# CI (and anyone without ../shared) fetches them here. To move a pin, change the commit and
# the sha256 together, and say in the commit which upstream change the contract tests now see.
#
# Usage: bash scripts/fetch_contracts.sh [DEST]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
dest="${1:-../shared/contracts}"

PAGERDUTY_API_SCHEMA=91a06fb3c64b0ab2b2bd6c485d12b327dfb55c18 # PagerDuty/api-schema, 2026-08-14
PORT_DOCS=4893974ae5631bfa4c0999e903fe0d15c30ca02a            # port-labs/port-docs, 2026-01-28

# destination  source URL  sha256
specs=(
  "pagerduty/rest-openapiv3.json"
  "https://raw.githubusercontent.com/PagerDuty/api-schema/${PAGERDUTY_API_SCHEMA}/reference/REST/openapiv3.json"
  "b2e80f8b83b170f29702e96a69adf230702b4ec43dddab7e348a2985c707ef35"

  "pagerduty/events-v2-openapiv3.json"
  "https://raw.githubusercontent.com/PagerDuty/api-schema/${PAGERDUTY_API_SCHEMA}/reference/events-v2/openapiv3.json"
  "f5570ec1049850501363447415a9202118586281286c3ccc8cd996f8429d1908"

  "port/apispec.yaml"
  "https://raw.githubusercontent.com/port-labs/port-docs/${PORT_DOCS}/static/apispec.yaml"
  "07ad544dbacebd367a6d86ec2331c0a6db3d9ce9f6f94958ca9d208b50c346ff"
)

for ((i = 0; i < ${#specs[@]}; i += 3)); do
  target="$dest/${specs[i]}"
  url="${specs[i + 1]}"
  sum="${specs[i + 2]}"
  if [[ -f "$target" ]] && echo "$sum  $target" | sha256sum --check --status; then
    echo "contracts: $target is already at the pinned version"
    continue
  fi
  mkdir -p "$(dirname "$target")"
  echo "contracts: fetching $url"
  curl --fail --silent --show-error --location --retry 3 --max-time 120 \
    --output "$target.partial" "$url"
  if ! echo "$sum  $target.partial" | sha256sum --check --status; then
    echo "contracts: $url does not have the pinned sha256 $sum" >&2
    rm -f "$target.partial"
    exit 1
  fi
  mv "$target.partial" "$target"
done
echo "contracts: every spec is in $dest"
