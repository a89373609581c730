#!/usr/bin/env bash
# Idempotent setup for development, tests and CI. Each step is skipped when its result is already there:
#   1. node_modules  (npm ci, only when package-lock.json changed since the last install)
#   2. .tools/bin/temporal and .tools/bin/ferretdb, built from source with Go at pinned versions
#      (never a downloaded prebuilt binary); a `temporal` / `ferretdb` already on PATH is accepted too
#   3. dist/          (tsc, only when a source file is newer than the last build)
#
# Options:
#   --allow-build-errors   keep going when tsc reports type errors (it still emits JS); used by test.sh, which
#                          runs the type check itself, and dev.sh, so one half-written file does not block work
#   --no-build             skip step 3
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
# applied in name order). Bump the suffix when a patch changes, so cached binaries are rebuilt.
FERRETDB_BUILD="$FERRETDB_VERSION-patchwave.1"
NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19

TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
LOGS="$TOOLS/logs"

ALLOW_BUILD_ERRORS=0
SKIP_BUILD=0
for arg in "$@"; do
  case "$arg" in
    --allow-build-errors) ALLOW_BUILD_ERRORS=1 ;;
    --no-build) SKIP_BUILD=1 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "[setup] unknown option: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "[setup] $*"; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }

check_node() {
  command -v node >/dev/null 2>&1 ||
    die "Node.js >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR is required but 'node' is not on PATH. Install Node 20 LTS (https://nodejs.org, or 'nvm install 20')."
  node -e "const [a,b]=process.versions.node.split('.').map(Number); process.exit(a>$NODE_MIN_MAJOR||(a===$NODE_MIN_MAJOR&&b>=$NODE_MIN_MINOR)?0:1)" ||
    die "Node.js >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR is required, found $(node --version). Install Node 20 LTS (https://nodejs.org, or 'nvm install 20')."
  command -v npm >/dev/null 2>&1 || die "npm is required (it ships with Node.js)."
}

need_go() {
  command -v go >/dev/null 2>&1 ||
    die "Go is required to build the Temporal CLI and FerretDB from source (https://go.dev/dl/, or 'apt-get install golang-go' if it is >= 1.22). Alternatively put prebuilt 'temporal' and 'ferretdb' binaries of your own on PATH."
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

build_ferretdb() {
  if [ -x "$BIN/ferretdb" ]; then
    if [ "$(ferretdb_version "$BIN/ferretdb")" = "$FERRETDB_BUILD" ]; then
      log "ferretdb $FERRETDB_BUILD present (.tools/bin/ferretdb)"
      return
    fi
    log "existing .tools/bin/ferretdb is not $FERRETDB_BUILD; rebuilding"
  elif command -v ferretdb >/dev/null 2>&1; then
    log "using ferretdb from PATH ($(command -v ferretdb), $(ferretdb_version "$(command -v ferretdb)")); pinned version is $FERRETDB_VERSION"
    return
  fi
  need_go
  local module="github.com/FerretDB/FerretDB@$FERRETDB_VERSION" src="$TOOLS/src/ferretdb" dir
  log "downloading FerretDB $FERRETDB_VERSION source (go mod download)"
  run_go ferretdb-download go mod download -json "$module" || die "downloading $module failed (see above)"
  # Second call only reads the module cache; it prints the JSON that names the source directory.
  dir="$(env $([ "$STICKY_GOSUMDB_OFF" = 1 ] && echo GOSUMDB=off) go mod download -json "$module" |
    node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>process.stdout.write(JSON.parse(s).Dir||''))")"
  [ -d "$dir" ] || die "go mod download did not report a source directory for $module"
  rm -rf "$src"
  mkdir -p "$TOOLS/src" "$BIN"
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
  (cd "$src" && run_go ferretdb-build go build -trimpath -buildvcs=false -o "$BIN/ferretdb" ./cmd/ferretdb) ||
    die "building FerretDB failed (see above)"
  [ "$(ferretdb_version "$BIN/ferretdb")" = "$FERRETDB_BUILD" ] ||
    die "the built ferretdb reports version '$(ferretdb_version "$BIN/ferretdb")', expected $FERRETDB_BUILD"
  log "built ferretdb $FERRETDB_BUILD"
}

# ---------------------------------------------------------------------------------------------------------
# 3. TypeScript build

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

check_node
install_node_modules
build_temporal
build_ferretdb
[ "$SKIP_BUILD" = 1 ] || build_dist
log "done"
