"""The CPython peer of `analyze`: `ast.parse` + `ast.walk` over every Python
file under a root, skipping what pyatlas's discovery skips by default
(hidden folders, virtual environments, site-packages, __pycache__).

    python3 benches/cpython_ast.py <ROOT>

Prints the files, bytes, nodes and seconds, so that both sides can be checked
to have read the same corpus.
"""

import ast
import os
import sys
import time

SKIPPED = {"__pycache__", "site-packages", "dist-packages", "node_modules", "__pypackages__"}


def python_files(root):
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d not in SKIPPED
            and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg"))
        )
        for name in sorted(files):
            if name.endswith(".py") and not name.startswith("."):
                yield os.path.join(folder, name)


def main(root):
    start = time.perf_counter()
    files = size = nodes = failed = 0
    for path in python_files(root):
        with open(path, "rb") as f:
            source = f.read()
        files += 1
        size += len(source)
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            failed += 1
            continue
        for _ in ast.walk(tree):
            nodes += 1
    seconds = time.perf_counter() - start
    print(f"files {files} bytes {size} nodes {nodes} rejected {failed} seconds {seconds:.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
