"""pyatlas-graph against grimp, side by side, on an installed package.

    python3 benches/graph_vs_grimp.py [PACKAGE] [ROUNDS]     (defaults: django 9)

Each round runs, in fresh processes and in alternation: grimp's
`build_graph(PACKAGE, cache_dir=None)` (cold: no cache), pyatlas's `graph`
example on the package's folder without a cache (cold), and with a primed
cache (warm). Reported: the median of the in-process build time each tool
measures around its build (grimp: the `build_graph` call; pyatlas: discovery,
scan and graph, as printed by the example), the whole-process wall time, and
the module and edge counts of both (internal imports only, as grimp's
default), which must agree.

Needs `cargo build --release --example graph` first.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

PACKAGE = sys.argv[1] if len(sys.argv) > 1 else "django"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 9
GRAPH = os.path.join(os.path.dirname(__file__), "..", "target", "release", "examples", "graph")

GRIMP = f"""
import time, grimp
start = time.perf_counter()
graph = grimp.build_graph({PACKAGE!r}, cache_dir=None)
seconds = time.perf_counter() - start
edges = sum(len(graph.find_modules_directly_imported_by(m)) for m in graph.modules)
print(f"{{seconds}} {{len(graph.modules)}} {{edges}}")
"""


def package_dir():
    out = subprocess.check_output([sys.executable, "-c", f"import {PACKAGE}, os; print(os.path.dirname({PACKAGE}.__file__))"])
    return out.decode().strip()


def run_grimp():
    start = time.perf_counter()
    out = subprocess.check_output([sys.executable, "-c", GRIMP]).decode().split()
    wall = time.perf_counter() - start
    return float(out[0]), wall, int(out[1]), int(out[2])


def run_pyatlas(folder, cache=None):
    args = [GRAPH, folder, "--no-external", "--format", "json"]
    if cache:
        args += ["--cache", cache]
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, check=True)
    wall = time.perf_counter() - start
    # "885 files (0 from the cache), 885 modules, 3072 edges, 0.081 s"
    m = re.search(r"(\d+) modules, (\d+) edges, ([\d.]+) s", done.stderr.decode())
    return float(m.group(3)), wall, int(m.group(1)), int(m.group(2))


def main():
    folder = package_dir()
    cache = tempfile.mkdtemp(prefix="pyatlas-graph-cache-")
    run_pyatlas(folder, cache)  # prime the cache
    results = {"grimp (cold)": [], "pyatlas (cold)": [], "pyatlas (warm cache)": []}
    counts = {}
    for _ in range(ROUNDS):
        for name, run in (
            ("grimp (cold)", run_grimp),
            ("pyatlas (cold)", lambda: run_pyatlas(folder)),
            ("pyatlas (warm cache)", lambda: run_pyatlas(folder, cache)),
        ):
            build, wall, modules, edges = run()
            results[name].append((build, wall))
            counts[name] = (modules, edges)
    print(f"{PACKAGE} ({folder}), {ROUNDS} rounds, medians:")
    for name, samples in results.items():
        build = statistics.median(s[0] for s in samples)
        wall = statistics.median(s[1] for s in samples)
        modules, edges = counts[name]
        print(f"  {name:22} build {build * 1000:7.1f} ms   process {wall * 1000:7.1f} ms   {modules} modules, {edges} edges")
    grimp = statistics.median(s[0] for s in results["grimp (cold)"])
    cold = statistics.median(s[0] for s in results["pyatlas (cold)"])
    print(f"  cold build: pyatlas is {grimp / cold:.2f}x grimp's speed")
    print(json.dumps({k: [list(s) for s in v] for k, v in results.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
