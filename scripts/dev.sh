#!/usr/bin/env bash
# `npm run dev`: set up (cached), then run the whole stack under scripts/dev-stack.ts. Arguments are passed on
# (e.g. `npm run dev -- --skip worker`). Type errors do not block the stack: tsc still emits JavaScript.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --allow-build-errors
exec node dist/scripts/dev-stack.js "$@"
