#!/usr/bin/env bash
# Makes `npm test` work in a fresh clone: installs node_modules from the lock file when they are
# missing or older than the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "madoguchi: installing node modules (npm ci)" >&2
  npm ci --no-audit --no-fund
fi
