#!/usr/bin/env bash
# Starts `serve ROOT` (the in-memory map of ROOT), waits until it prints the
# URL it listens on (the map is ready), then stops it: timed by
# benches/interleave.sh against `analyze ROOT`.
#
#   benches/serve_ready.sh ROOT [SERVE_BINARY]
set -euo pipefail
root=$1
serve=${2:-target/release/examples/serve}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$serve" "$root" --bind 127.0.0.1:0 >"$out" 2>/dev/null &
pid=$!
until grep -q '^listening on ' "$out"; do
    kill -0 "$pid" 2>/dev/null || { echo "serve stopped before it was ready" >&2; exit 1; }
    sleep 0.02
done
kill -INT "$pid"
wait "$pid"
