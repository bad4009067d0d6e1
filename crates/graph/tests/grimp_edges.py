"""grimp's import graph of installed packages, as JSON, for the comparison test.

    python3 grimp_edges.py PACKAGE...

For each package: {"package", "path" (its folder), "modules": [...],
"edges": [[importer, imported, [lines...]], ...]}, one JSON object per line,
internal imports only (grimp's default).
"""

import json
import os
import sys

import grimp

for package in sys.argv[1:]:
    graph = grimp.build_graph(package, cache_dir=None)
    edges = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            details = graph.get_import_details(importer=importer, imported=imported)
            edges.append([importer, imported, sorted({d["line_number"] for d in details})])
    module = __import__(package)
    print(json.dumps({
        "package": package,
        "path": os.path.dirname(module.__file__),
        "modules": sorted(graph.modules),
        "edges": edges,
    }))
