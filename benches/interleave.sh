#!/usr/bin/env bash
# Times two commands in alternation, ROUNDS times, so that the drift of a
# shared machine hits both alike; prints their medians and the median of the
# per-round ratios B/A.
#
#   benches/interleave.sh ROUNDS -- COMMAND A... -- COMMAND B...
set -euo pipefail
rounds=$1
shift 2
a_cmd=(); b_cmd=(); side=a
for arg in "$@"; do
    if [ "$arg" = "--" ]; then side=b; continue; fi
    if [ "$side" = a ]; then a_cmd+=("$arg"); else b_cmd+=("$arg"); fi
done
a_times=(); b_times=()
for _ in $(seq "$rounds"); do
    start=$(date +%s.%N); "${a_cmd[@]}" >/dev/null 2>&1; end=$(date +%s.%N)
    a_times+=("$(python3 -c "print($end - $start)")")
    start=$(date +%s.%N); "${b_cmd[@]}" >/dev/null 2>&1; end=$(date +%s.%N)
    b_times+=("$(python3 -c "print($end - $start)")")
done
python3 - "${a_times[*]}" "${b_times[*]}" <<'PY'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
ratios = [y / x for x, y in zip(a, b)]
print(f"A median {statistics.median(a):.3f} s, B median {statistics.median(b):.3f} s, "
      f"median of per-round B/A {statistics.median(ratios):.3f} ({len(a)} rounds)")
PY
