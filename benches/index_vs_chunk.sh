#!/usr/bin/env bash
# `index` (offline hash embedder, cold: a fresh database each run, so no
# cached vector and no HNSW index yet) against `chunk --format jsonl` on the
# same tree, whole processes, in one run, with hyperfine. The ratio of the
# medians is the figure benches/README.md quotes.
#
#   DATABASE_URL=postgres://... benches/index_vs_chunk.sh <ROOT> [RUNS]
#
# Needs the release examples (`cargo build --release --example index
# --example chunk`), hyperfine, and a PostgreSQL with pgvector whose user
# may create databases.
set -euo pipefail
: "${DATABASE_URL:?set DATABASE_URL}"
cd "$(dirname "$0")/.."
if [ "$1" = "--cold-index" ]; then
    # One cold `index`: a database of its own, dropped afterwards.
    db="pyatlas_bench_$$_$RANDOM"
    psql "$DATABASE_URL" -qc "CREATE DATABASE $db" >/dev/null
    status=0
    DATABASE_URL="${DATABASE_URL%/*}/$db" target/release/examples/index "$2" --project bench >/dev/null || status=$?
    psql "$DATABASE_URL" -qc "DROP DATABASE $db" >/dev/null
    exit "$status"
fi
root=$1
runs=${2:-3}
hyperfine --runs "$runs" --export-json "target/index_vs_chunk.json" \
    -n chunk "target/release/examples/chunk $root --format jsonl > /dev/null" \
    -n index "benches/index_vs_chunk.sh --cold-index $root"
