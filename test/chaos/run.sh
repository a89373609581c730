#!/usr/bin/env bash
# `npm run chaos`: build (cached), compile the chaos suite, run it. Arguments go to test/chaos/run.ts
# (e.g. `npm run chaos -- --runs 3`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
. scripts/lib/node.sh && use_supported_node "$ROOT" # Node >= 22 first on PATH (.tools/node when the machine's is older)
bash scripts/setup.sh --allow-build-errors
rm -rf .tools/chaos-build
npx tsc -p test/chaos/tsconfig.json
exec node .tools/chaos-build/test/chaos/run.js "$@"
