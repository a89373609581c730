#!/usr/bin/env bash
# `bash scripts/node.sh FILE [ARGS]`: runs FILE on a supported Node.js (the machine's when >= 22, else the
# pinned LTS in .tools/node, see scripts/lib/node.sh). Used by `npm run worker`, `npm run api` and `npm run lab`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/lib/node.sh"
use_supported_node "$ROOT"
exec node "$@"
