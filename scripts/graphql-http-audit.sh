#!/usr/bin/env bash
# Checks Jeugdpad's GraphQL endpoint against the GraphQL-over-HTTP spec with graphql-http's
# server audits: builds the server, starts it on a temporary data directory and a free port,
# runs scripts/audit.mjs against /graphql, prints each audit's result, and stops the server.
# Exits non-zero when a MUST audit fails.
#
#   scripts/graphql-http-audit.sh            # needs cargo, node >= 18 and npm
#
# CARGO_TARGET_DIR is honoured; the audit dependencies are pinned in scripts/package-lock.json.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"

echo "building jeugdpad ..."
cargo build --quiet --manifest-path "$root/Cargo.toml" -p jeugdpad

echo "installing the audit suite ..."
(cd "$root/scripts" && npm ci --silent --no-audit --no-fund)

data="$(mktemp -d)"
port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
log="$data.log"
server=""
cleanup() {
  if [[ -n "$server" ]]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$data" "$log"
}
trap cleanup EXIT

# Every request signs in: an analyst with an API token is enough for the audits' queries.
bin="$target/debug/jeugdpad"
JEUGDPAD_LOG=warn "$bin" --data "$data" user add audit --name "graphql-http audit" --role analyst >/dev/null
export JEUGDPAD_TOKEN="$(JEUGDPAD_LOG=warn "$bin" --data "$data" token create --user audit --label audit --quiet)"

JEUGDPAD_LOG=warn "$bin" --data "$data" serve --listen "127.0.0.1:$port" >"$log" 2>&1 &
server=$!

status=0
node "$root/scripts/audit.mjs" "http://127.0.0.1:$port/graphql" || status=$?
if [[ $status -ne 0 && -s "$log" ]]; then
  echo "--- server log ---"
  cat "$log"
fi
exit $status
