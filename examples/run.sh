#!/usr/bin/env bash
# Runs every GraphQL example of this folder with curl against a freshly seeded server:
# seeds a synthetic municipality into a temporary data directory, starts `jeugdpad serve` on a
# free loopback port, runs each role's operations, checks that none answers with errors, and
# stops the server.
#
#   examples/run.sh                 # needs curl and python3 (for JSON); builds the release binary
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p jeugdpad
bin="$target/release/jeugdpad"
work="$(mktemp -d)"
port="${JEUGDPAD_EXAMPLES_PORT:-18080}"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" --data "$work/data" seed --synthetic --trajectories 5000 --seed 2026 --today 2026-11-26 >/dev/null
# Seeding registers demo users; each role signs in with its own token.
token() { "$bin" --data "$work/data" token create --user "$1" --label examples --quiet; }
consultant="$(token demo-consultant-noord)"
lead="$(token demo-lead-weidevenne)"
analyst="$(token demo-analyst)"
"$bin" --data "$work/data" serve --listen "127.0.0.1:$port" 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.2
done

# run TOKEN FILE VARIABLES-JSON: posts the operation as the token's user and prints the answer;
# fails on GraphQL errors.
run() {
  local token="$1" file="$2" variables="$3"
  echo "== $file"
  python3 - "$file" "$variables" <<'PY' >"$work/request.json"
import json, sys
print(json.dumps({"query": open(sys.argv[1]).read(), "variables": json.loads(sys.argv[2])}))
PY
  curl -fsS -H 'content-type: application/json' -H 'accept: application/graphql-response+json' \
    -H "authorization: Bearer $token" \
    --data @"$work/request.json" "http://127.0.0.1:$port/graphql" >"$work/answer.json"
  python3 - "$work/answer.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
if answer.get("errors"):
    sys.exit("GraphQL errors: " + json.dumps(answer["errors"], indent=2))
text = json.dumps(answer["data"], indent=1)
print(text if len(text) < 3000 else text[:3000] + "\n…")
PY
}

id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
run "$consultant" examples/consultant-record-a-case.graphql "{\"id\": \"$id\", \"subject\": \"sk-example-0001\"}"
run "$lead" examples/team-lead-monday-waiting-list.graphql '{"team": "weidevenne"}'
run "$analyst" examples/analyst-yearly-normalisation.graphql '{"from": "2025-01-01", "to": "2025-12-31"}'
echo "all examples ran"
