#!/usr/bin/env bash
# `npm run bench [-- --scale 0.1 --only a,c --profile a-orchestration]`: build, then run the benchmark scenarios
# of issue 7 against a real Temporal dev server and FerretDB (or TEMPORAL_ADDRESS / MONGODB_URI), the fleet lab
# and one measured worker process. Results: bench/results/*.json and the generated table in docs/benchmarks.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. scripts/lib/node.sh && use_supported_node "$ROOT" # Node >= 22 first on PATH (.tools/node when the machine's is older)
# The servers come from setup (cached); type errors elsewhere must not stop a measurement, as in `npm run dev`.
bash scripts/setup.sh --no-build
npm run build --silent || echo "[bench] build reported type errors; measuring the emitted JavaScript anyway" >&2
exec node dist/bench/run.js "$@"
