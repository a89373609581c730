#!/usr/bin/env bash
# `npm run dev`: set up (cached), then run the whole stack under scripts/dev-stack.ts. Arguments are passed on
# (e.g. `npm run dev -- --skip worker`). Type errors do not block the stack: tsc still emits JavaScript.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/lib/node.sh && use_supported_node "$ROOT" # Node >= 22 first on PATH (.tools/node when the machine's is older)
# The test-only tools (Python venvs, Chromium) are not needed to run the stack: `npm test` installs them.
bash scripts/setup.sh --allow-build-errors --no-test-tools
exec node dist/scripts/dev-stack.js "$@"
