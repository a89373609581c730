#!/usr/bin/env bash
# Idempotent setup for development, tests and CI. Each step is skipped when its result is already there:
#   0. a supported Node.js: the machine's own when it is >= 22, else the pinned LTS unpacked into .tools/node
#      from the npm registry (scripts/lib/node.sh)
#   1. node_modules  (npm ci, only when package-lock.json changed since the last install)
#   2. .tools/bin/temporal and .tools/bin/ferretdb-<build>, built from source with Go at pinned versions
#      (never a downloaded prebuilt binary); a `temporal` / `ferretdb` already on PATH is accepted too
#   3. dist/          (tsc, only when a source file is newer than the last build)
#   4. console/dist/  (the operator console: its own node_modules from console/package-lock.json, then
#                      `vite build`, each only when its inputs changed)
#   5. Chromium for the browser tests (/usr/bin/chromium; apt-get when missing and running as root)
#   6. .tools/schemathesis/  a Python virtual environment with schemathesis at a pinned version, which the
#      OpenAPI conformance test runs against the live API (needs python3 with venv; PyPI)
#
# Options:
#   --allow-build-errors   keep going when tsc reports type errors (it still emits JS); used by test.sh, which
#                          runs the type check itself, and dev.sh, so one half-written file does not block work
#   --no-build             skip steps 3 and 4
#   --no-browser           skip step 5
#   --no-test-tools        skip the tools only the tests use: step 5, step 6 and the Python sets (.tools/py);
#                          used by dev.sh, so `npm run dev` needs neither python3 nor Chromium
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TEMPORAL_CLI_VERSION=v1.5.1
# FerretDB v1.24.1 and v1.24.2 are refused by the Go module proxy reachable from our build machines
# (403 "This module version is not available", even for @v/list); v1.24.0 is served, so it is the pin.
# `go install …@v1.24.0` still fails here because it loads deprecation info from @v/list (403), hence the
# download-then-build recipe in build_ferretdb.
FERRETDB_VERSION=v1.24.0
# What our build reports as its version: upstream plus the patches in scripts/patches (ferretdb-<version>-*.patch,
# applied in name order). Bump the suffix in scripts/ferretdb-build (scripts/lib/servers.ts reads it too) when a
# patch changes: each build has its own binary, .tools/bin/ferretdb-<build>.
FERRETDB_BUILD="$(cat "$ROOT/scripts/ferretdb-build")"
case "$FERRETDB_BUILD" in "$FERRETDB_VERSION"-*) ;; *) echo "[setup] scripts/ferretdb-build ('$FERRETDB_BUILD') is not a build of $FERRETDB_VERSION" >&2; exit 1 ;; esac
# The OpenAPI conformance test (test/integration/openapi-conformance.test.ts) runs this schemathesis.
SCHEMATHESIS_VERSION=4.32.5

TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
LOGS="$TOOLS/logs"

ALLOW_BUILD_ERRORS=0
SKIP_BUILD=0
SKIP_BROWSER=0
SKIP_TEST_TOOLS=0
for arg in "$@"; do
  case "$arg" in
    --allow-build-errors) ALLOW_BUILD_ERRORS=1 ;;
    --no-build) SKIP_BUILD=1 ;;
    --no-browser) SKIP_BROWSER=1 ;;
    --no-test-tools) SKIP_TEST_TOOLS=1 SKIP_BROWSER=1 ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "[setup] unknown option: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "[setup] $*"; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }

# shellcheck source=lib/node.sh
. "$ROOT/scripts/lib/node.sh"

check_node() {
  command -v npm >/dev/null 2>&1 || die "npm is required (it ships with Node.js)."
  use_supported_node "$ROOT" || die "no supported Node.js (>= $PATCHWAVE_NODE_MIN_MAJOR) and installing $PATCHWAVE_NODE_VERSION failed (above)"
  log "node $(node --version) ($(command -v node))"
}

need_go() {
  command -v go >/dev/null 2>&1 ||
    die "Go is required to build the Temporal CLI and FerretDB from source (https://go.dev/dl/, or 'apt-get install golang-go' if it is >= 1.25, which Temporal CLI $TEMPORAL_CLI_VERSION needs). Alternatively put prebuilt 'temporal' and 'ferretdb' binaries of your own on PATH."
}

# ---------------------------------------------------------------------------------------------------------
# 1. Node dependencies

file_hash() { node -e "process.stdout.write(require('crypto').createHash('sha256').update(require('fs').readFileSync(process.argv[1])).digest('hex'))" "$1"; }

install_node_modules() {
  local stamp="node_modules/.patchwave-lock-hash" hash
  hash="$(file_hash package-lock.json)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
    log "node_modules up to date"
    return
  fi
  # npm writes node_modules/.package-lock.json at the end of every install: if it is newer than the lockfile,
  # the tree was installed from this lockfile (by `npm ci` in .ci/run, or a teammate's `npm install X`).
  if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
    log "node_modules was installed from the current package-lock.json; recording that"
  else
    npm_clean_install
  fi
  echo "$hash" >"$stamp"
}

# `npm ci`, or, when npm ci refuses the lockfile as "not in sync" only because the registry we reach serves no
# other platforms' optional native packages (so no lockfile made here can list them, e.g.
# @swc/core-darwin-arm64), `npm install --no-save`: the same versions from package-lock.json, lockfile untouched.
npm_clean_install() {
  local out="$LOGS/npm-ci.log"
  mkdir -p "$LOGS"
  log "installing node modules (npm ci)"
  if npm ci --no-audit --no-fund >"$out" 2>&1; then
    return
  fi
  if grep -q 'can only install packages when your package.json and package-lock.json' "$out"; then
    log "npm ci refused the lockfile ($(grep -c 'Missing:' "$out") optional platform packages not listed); using npm install --no-save"
    npm install --no-audit --no-fund --no-save
    return
  fi
  tail -n 40 "$out" >&2
  die "npm ci failed (full output: .tools/logs/npm-ci.log)"
}

# ---------------------------------------------------------------------------------------------------------
# 2. Go-built servers

STICKY_GOSUMDB_OFF=0

# run_go LOGNAME CMD...: runs a Go command with its output in .tools/logs/LOGNAME.log. If the checksum
# database cannot be reached, retries once with GOSUMDB=off (hashes are then checked against go.sum only)
# and keeps GOSUMDB=off for the rest of this run.
run_go() {
  local name="$1" logfile="$LOGS/$1.log"
  shift
  mkdir -p "$LOGS"
  if [ "$STICKY_GOSUMDB_OFF" = 1 ]; then
    GOSUMDB=off "$@" >"$logfile" 2>&1 && return 0
  elif "$@" >"$logfile" 2>&1; then
    return 0
  elif grep -qiE 'sum\.golang\.org|checksum database|verifying .*(dial|timeout|lookup|connect)' "$logfile"; then
    log "the Go checksum database could not be reached; retrying with GOSUMDB=off"
    STICKY_GOSUMDB_OFF=1
    GOSUMDB=off "$@" >"$logfile" 2>&1 && return 0
  fi
  echo "[setup] '$*' failed; last lines of $logfile:" >&2
  tail -n 30 "$logfile" >&2
  return 1
}

temporal_is_pinned() {
  # The CLI built this way reports "0.0.0-DEV" as its version; the module version is in the build info.
  command -v go >/dev/null 2>&1 || return 0 # cannot tell without go; trust it
  go version -m "$BIN/temporal" 2>/dev/null | grep -qE "^[[:space:]]*mod[[:space:]]+github.com/temporalio/cli[[:space:]]+$TEMPORAL_CLI_VERSION([[:space:]]|$)"
}

build_temporal() {
  if [ -x "$BIN/temporal" ]; then
    if temporal_is_pinned; then
      log "temporal CLI $TEMPORAL_CLI_VERSION present (.tools/bin/temporal)"
      return
    fi
    log "existing .tools/bin/temporal is not $TEMPORAL_CLI_VERSION; rebuilding"
  elif command -v temporal >/dev/null 2>&1; then
    log "using temporal from PATH ($(command -v temporal)); pinned version is $TEMPORAL_CLI_VERSION"
    return
  fi
  need_go
  log "building temporal CLI $TEMPORAL_CLI_VERSION from source (go install; takes several minutes the first time)"
  mkdir -p "$BIN"
  run_go temporal-install env GOBIN="$BIN" go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" ||
    die "building the Temporal CLI failed (see above)"
  log "built $("$BIN/temporal" --version)"
}

ferretdb_version() { "$1" --version 2>/dev/null | awk '/^version:/ {print $2}'; }

# One binary and one source tree per build (.tools/bin/ferretdb-<build>, .tools/src/ferretdb-<build>): .tools is
# shared by git worktrees on different commits, and a worktree on an older commit must not rebuild over a newer
# build (or the other way round). Builds run under a lock, into a temporary file renamed into place.
build_ferretdb() {
  local bin="$BIN/ferretdb-$FERRETDB_BUILD"
  if [ -x "$bin" ] && [ "$(ferretdb_version "$bin")" = "$FERRETDB_BUILD" ]; then
    log "ferretdb $FERRETDB_BUILD present (.tools/bin/ferretdb-$FERRETDB_BUILD)"
    return
  fi
  if command -v ferretdb >/dev/null 2>&1; then
    log "using ferretdb from PATH ($(command -v ferretdb), $(ferretdb_version "$(command -v ferretdb)")); pinned build is $FERRETDB_BUILD (its patches make the event listings fast, docs/benchmarks.md)"
    return
  fi
  need_go
  mkdir -p "$TOOLS/src" "$BIN"
  exec 8>"$TOOLS/.ferretdb-build.lock"
  flock 8
  if [ -x "$bin" ] && [ "$(ferretdb_version "$bin")" = "$FERRETDB_BUILD" ]; then
    flock -u 8
    log "ferretdb $FERRETDB_BUILD present (built meanwhile by another setup)"
    return
  fi
  local module="github.com/FerretDB/FerretDB@$FERRETDB_VERSION" src="$TOOLS/src/ferretdb-$FERRETDB_BUILD" dir
  log "downloading FerretDB $FERRETDB_VERSION source (go mod download)"
  run_go ferretdb-download go mod download -json "$module" || die "downloading $module failed (see above)"
  # Second call only reads the module cache; it prints the JSON that names the source directory.
  dir="$(env $([ "$STICKY_GOSUMDB_OFF" = 1 ] && echo GOSUMDB=off) go mod download -json "$module" |
    node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>process.stdout.write(JSON.parse(s).Dir||''))")"
  [ -d "$dir" ] || die "go mod download did not report a source directory for $module"
  rm -rf "$src"
  cp -R "$dir" "$src"
  chmod -R u+w "$src" # the module cache is read-only
  # Release builds get this file from their build pipeline; without it the binary panics at start
  # ("Invalid build/version/version.txt").
  echo "$FERRETDB_BUILD" >"$src/build/version/version.txt"
  local p
  for p in "$ROOT"/scripts/patches/ferretdb-"$FERRETDB_VERSION"-*.patch; do
    [ -f "$p" ] || continue
    log "patching FerretDB: $(basename "$p")"
    (cd "$src" && patch -p1 --forward --quiet <"$p") || die "applying $p to FerretDB $FERRETDB_VERSION failed"
  done
  log "building ferretdb $FERRETDB_BUILD (go build; takes a few minutes the first time)"
  (cd "$src" && run_go ferretdb-build go build -trimpath -buildvcs=false -o "$bin.tmp.$$" ./cmd/ferretdb) ||
    die "building FerretDB failed (see above)"
  [ "$(ferretdb_version "$bin.tmp.$$")" = "$FERRETDB_BUILD" ] ||
    die "the built ferretdb reports version '$(ferretdb_version "$bin.tmp.$$")', expected $FERRETDB_BUILD"
  mv -f "$bin.tmp.$$" "$bin"
  flock -u 8
  log "built ferretdb $FERRETDB_BUILD (.tools/bin/ferretdb-$FERRETDB_BUILD)"
}

# ---------------------------------------------------------------------------------------------------------
# 3. TypeScript build

# Its own venv, not .tools/py: schemathesis brings its own hypothesis/jsonschema/werkzeug pins, which must not
# fight moto's. The stamp is written last, so an interrupted install is never taken as done; the lock keeps
# two setups (worktrees share .tools) from installing at once.
install_schemathesis() {
  mkdir -p "$TOOLS"
  # Physical path: the venv's scripts name their interpreter by absolute path (see install_python_sets).
  local venv
  venv="$(cd "$TOOLS" && pwd -P)/schemathesis"
  local stamp="$venv/.patchwave-installed" interpreter
  exec 8>"$TOOLS/schemathesis.lock"
  flock 8
  interpreter="$(head -n 1 "$venv/bin/st" 2>/dev/null | sed 's/^#!//')" || interpreter=""
  if [ -x "$venv/bin/st" ] && [ -x "$interpreter" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$SCHEMATHESIS_VERSION" ]; then
    log "schemathesis $SCHEMATHESIS_VERSION present (.tools/schemathesis)"
    flock -u 8
    return
  fi
  command -v python3 >/dev/null 2>&1 ||
    die "python3 (>= 3.9, with venv) is required for the OpenAPI conformance test (schemathesis); install it, e.g. 'apt-get install python3-venv'."
  log "installing schemathesis $SCHEMATHESIS_VERSION into .tools/schemathesis (Python venv)"
  mkdir -p "$LOGS"
  rm -rf "$venv"
  if python3 -m venv "$venv" >"$LOGS/schemathesis-install.log" 2>&1 &&
    "$venv/bin/pip" install --disable-pip-version-check --quiet "schemathesis==$SCHEMATHESIS_VERSION" \
      >>"$LOGS/schemathesis-install.log" 2>&1; then
    echo "$SCHEMATHESIS_VERSION" >"$stamp"
    log "schemathesis $SCHEMATHESIS_VERSION installed"
    flock -u 8
  else
    die "installing schemathesis failed (.tools/logs/schemathesis-install.log)"
  fi
}

build_dist() {
  local stamp="dist/.patchwave-build-stamp" dirs newer
  dirs="$(node -p "require('./tsconfig.build.json').include.filter(d => require('fs').existsSync(d)).join(' ')")"
  if [ -f "$stamp" ]; then
    # shellcheck disable=SC2086 # word splitting of the directory list is intended
    newer="$(find $dirs tsconfig.json tsconfig.build.json package-lock.json -newer "$stamp" -type f \( -name '*.ts' -o -name '*.json' \) -print -quit 2>/dev/null || true)"
    if [ -z "$newer" ] && ! grep -q with-errors "$stamp"; then
      log "dist/ up to date"
      return
    elif [ -z "$newer" ] && [ "$ALLOW_BUILD_ERRORS" = 1 ]; then
      log "dist/ up to date (its last build had $(grep -c 'error TS' "$LOGS/tsc-build.log" 2>/dev/null || echo some) type error(s): .tools/logs/tsc-build.log)"
      return
    fi
  fi
  log "compiling TypeScript (npm run build)"
  # Stamped with the start time, so sources edited during the build make the next run rebuild.
  local started="dist/.patchwave-build-started"
  mkdir -p dist && touch "$started"
  local out="$LOGS/tsc-build.log"
  mkdir -p "$LOGS"
  if npm run build --silent >"$out" 2>&1; then
    mv "$started" "$stamp"
    log "dist/ built"
    return
  fi
  if [ "$ALLOW_BUILD_ERRORS" = 1 ]; then
    # Same sources give the same errors: remember them, so the next run need not compile again.
    echo with-errors >"$started.tmp"
    touch -r "$started" "$started.tmp" # keep the build's start time
    mv "$started.tmp" "$stamp"
    rm -f "$started"
    log "WARNING: tsc reported $(grep -c 'error TS' "$out") type error(s) (full list: .tools/logs/tsc-build.log); JavaScript was still emitted to dist/, continuing. First ones:"
    grep 'error TS' "$out" | head -n 5 | cut -c1-200 | sed 's/^/[setup]   /'
  else
    rm -f "$started"
    cat "$out" >&2
    die "tsc reported errors (above). Fix them, or run with --allow-build-errors."
  fi
}

# ---------------------------------------------------------------------------------------------------------
# 4. The console (console/: React + Vite, its own package.json so the API's dependencies stay lean)

build_console() {
  local stamp_deps="console/node_modules/.patchwave-lock-hash" hash
  hash="$(file_hash console/package-lock.json)"
  if [ -f "$stamp_deps" ] && [ "$(cat "$stamp_deps")" = "$hash" ]; then
    log "console/node_modules up to date"
  else
    log "installing the console's node modules (npm ci in console/)"
    mkdir -p "$LOGS"
    local out="$LOGS/npm-ci-console.log"
    if ! (cd console && npm ci --no-audit --no-fund >"$out" 2>&1); then
      # Same as the root install: npm ci refuses a lockfile that lacks other platforms' optional packages.
      if grep -q 'can only install packages when your package.json and package-lock.json' "$out"; then
        log "npm ci refused console/package-lock.json (optional platform packages not listed); using npm install --no-save"
        (cd console && npm install --no-audit --no-fund --no-save >>"$out" 2>&1) || {
          tail -n 40 "$out" >&2
          die "npm install in console/ failed (full output: .tools/logs/npm-ci-console.log)"
        }
      else
        tail -n 40 "$out" >&2
        die "npm ci in console/ failed (full output: .tools/logs/npm-ci-console.log)"
      fi
    fi
    echo "$hash" >"$stamp_deps"
  fi
  # The console's API types come from the OpenAPI document (scripts/console-api-types.ts); rewritten only when
  # their content changes, so an API schema change rebuilds the console and an unrelated one does not.
  if ! node dist/scripts/console-api-types.js >"$LOGS/console-types.log" 2>&1; then
    tail -n 20 "$LOGS/console-types.log" >&2
    [ "$ALLOW_BUILD_ERRORS" = 1 ] || die "could not generate console/src/api.gen.ts (full output: .tools/logs/console-types.log)"
    log "WARNING: console/src/api.gen.ts not generated (full output: .tools/logs/console-types.log)"
  fi
  local stamp="console/dist/.patchwave-build-stamp" newer
  if [ -f "$stamp" ] && [ -f console/dist/index.html ]; then
    newer="$(find console/src console/index.html console/vite.config.ts console/tsconfig.json console/package-lock.json -newer "$stamp" -type f -print -quit 2>/dev/null || true)"
    if [ -z "$newer" ]; then
      log "console/dist up to date"
      return
    fi
  fi
  log "building the console (vite build)"
  # Marks the build's start time (it becomes the stamp). Not under .tools/: every worktree shares that
  # directory, so a teammate's concurrent setup would move or delete the same file.
  local started
  started="$(mktemp "${TMPDIR:-/tmp}/patchwave-console-build.XXXXXX")"
  if (cd console && npm run build --silent >"$LOGS/console-build.log" 2>&1); then
    mv "$started" "$stamp"
    log "console/dist built"
  else
    rm -f "$started"
    tail -n 30 "$LOGS/console-build.log" >&2
    if [ "$ALLOW_BUILD_ERRORS" = 1 ]; then
      log "WARNING: the console did not build (full output: .tools/logs/console-build.log); the API serves the last build, if any"
    else
      die "the console did not build (full output: .tools/logs/console-build.log)"
    fi
  fi
}

# ---------------------------------------------------------------------------------------------------------
# 5. Chromium for the browser tests (test/integration/console-*.test.ts drive it with playwright-core)

CHROMIUM="${PATCHWAVE_CHROMIUM:-/usr/bin/chromium}"
ensure_chromium() {
  if [ -x "$CHROMIUM" ]; then
    log "chromium present ($CHROMIUM)"
    return
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's chromium for the browser tests (apt-get; once)"
    mkdir -p "$LOGS"
    if { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; } >"$LOGS/apt-chromium.log" 2>&1; then
      log "chromium installed"
    else
      tail -n 20 "$LOGS/apt-chromium.log" >&2
      log "WARNING: installing chromium failed (.tools/logs/apt-chromium.log); the console's browser tests will fail until it is there"
    fi
  else
    log "NOTE: $CHROMIUM is missing and this is not root, so it is not installed here. The console's browser tests need it: run 'sudo apt-get install chromium' (Debian/Ubuntu), or set PATCHWAVE_CHROMIUM to a Chromium/Chrome binary."
  fi
}

# ---------------------------------------------------------------------------------------------------------
# 3b. Python tools in one shared venv, .tools/py: each package set is a scripts/python-requirements-<set>.txt,
#     installed when its stamp (.tools/py/.stamp-<set>, the file's hash) is missing or different. A lock keeps
#     two setups (worktrees share .tools) from installing into the venv at once.

install_python_sets() {
  local venv req set hash stamp interpreter
  command -v python3 >/dev/null 2>&1 || die "python3 (>= 3.9, with venv) is required for the AWS contract tests."
  mkdir -p "$TOOLS"
  # The venv's scripts name their interpreter by absolute path (a venv cannot move), so it is made under the
  # physical path of .tools: a worktree that reaches .tools through a symlink must not bake its own path in.
  venv="$(cd "$TOOLS" && pwd -P)/py"
  exec 9>"$TOOLS/py.lock"
  flock 9
  # A venv whose scripts point at an interpreter that no longer exists (made through a path since removed)
  # is made again, with every set reinstalled.
  # `|| interpreter=""`: with pipefail, head fails when the venv is not there yet (a fresh .tools), and set -e
  # would end setup silently.
  interpreter="$(head -n 1 "$venv/bin/pip" 2>/dev/null | sed 's/^#!//')" || interpreter=""
  if [ -d "$venv" ] && { [ ! -x "$venv/bin/python" ] || [ ! -x "$interpreter" ]; }; then
    log "python venv .tools/py is broken (interpreter '${interpreter:-none}' missing); making it again"
    rm -rf "$venv"
  fi
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)."
  fi
  for req in scripts/python-requirements-*.txt; do
    [ -f "$req" ] || continue
    set="$(basename "$req" .txt)"
    set="${set#python-requirements-}"
    hash="$(file_hash "$req")"
    stamp="$venv/.stamp-$set"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
      log "python set '$set' up to date"
      continue
    fi
    log "installing python set '$set' into .tools/py (log: .tools/logs/pip-$set.log)"
    mkdir -p "$LOGS"
    "$venv/bin/pip" install --disable-pip-version-check -q -r "$req" >"$LOGS/pip-$set.log" 2>&1 ||
      die "pip install -r $req failed (see .tools/logs/pip-$set.log)"
    echo "$hash" >"$stamp"
  done
  flock -u 9
}

check_node
install_node_modules
build_temporal
build_ferretdb
[ "$SKIP_TEST_TOOLS" = 1 ] || install_python_sets
[ "$SKIP_TEST_TOOLS" = 1 ] || install_schemathesis
[ "$SKIP_BUILD" = 1 ] || build_dist
[ "$SKIP_BUILD" = 1 ] || build_console
[ "$SKIP_BROWSER" = 1 ] || ensure_chromium
log "done"
