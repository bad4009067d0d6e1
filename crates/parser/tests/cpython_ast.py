"""Reference extraction with CPython's own `ast`, for the differential test.

Reads file paths on stdin, one per line, and writes one JSON object per file
on stdout, in the same order: whether CPython parses it and, if so, its units,
imports, docstrings and call lines, computed the way pyatlas-parser documents
them (qualnames per PEP 3155, lines as `ast` lineno/end_lineno).
"""

import ast
import json
import sys
from multiprocessing import Pool


def is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class Extractor(ast.NodeVisitor):
    def __init__(self):
        self.scopes = []  # (qualname, is_class)
        self.units = []
        self.imports = []
        self.calls = []
        self.in_function = 0
        self.type_checking = 0

    def unit(self, node, is_class):
        if not self.scopes:
            qualname = node.name
        elif self.scopes[-1][1]:
            qualname = f"{self.scopes[-1][0]}.{node.name}"
        else:
            qualname = f"{self.scopes[-1][0]}.<locals>.{node.name}"
        if is_class:
            kind = "class"
        elif self.scopes and self.scopes[-1][1]:
            kind = "method"
        else:
            kind = "function"
        self.units.append(
            {
                "kind": kind,
                "is_async": isinstance(node, ast.AsyncFunctionDef),
                "name": node.name,
                "qualname": qualname,
                "line": node.lineno,
                "start_line": min([node.lineno] + [d.lineno for d in node.decorator_list]),
                "end_line": node.end_lineno,
                "docstring": ast.get_docstring(node, clean=False),
                "decorators": len(node.decorator_list),
            }
        )
        # Decorators, defaults, annotations and bases are evaluated outside.
        for d in node.decorator_list:
            self.visit(d)
        if is_class:
            for b in node.bases:
                self.visit(b)
            for k in node.keywords:
                self.visit(k)
        else:
            self.visit(node.args)
            if node.returns:
                self.visit(node.returns)
        self.scopes.append((qualname, is_class))
        if not is_class:
            self.in_function += 1
        for stmt in node.body:
            self.visit(stmt)
        if not is_class:
            self.in_function -= 1
        self.scopes.pop()

    def visit_FunctionDef(self, node):
        self.unit(node, False)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self.unit(node, True)

    def flags(self):
        return {"type_checking": self.type_checking > 0, "in_function": self.in_function > 0}

    def visit_Import(self, node):
        for alias in node.names:
            self.imports.append(
                {"kind": "import", "module": alias.name, "level": 0, "alias": alias.asname, "names": [],
                 "line": node.lineno, **self.flags()}
            )

    def visit_ImportFrom(self, node):
        self.imports.append(
            {"kind": "from", "module": node.module or "", "level": node.level, "alias": None,
             "names": [[a.name, a.asname] for a in node.names], "line": node.lineno, **self.flags()}
        )

    def visit_If(self, node):
        self.visit(node.test)
        tc = is_type_checking(node.test)
        self.type_checking += tc
        for stmt in node.body:
            self.visit(stmt)
        self.type_checking -= tc
        for stmt in node.orelse:
            self.visit(stmt)

    def visit_Call(self, node):
        self.calls.append(node.func.lineno)
        self.generic_visit(node)


def extract(path):
    try:
        with open(path, "rb") as f:
            source = f.read()
        tree = ast.parse(source)
    except (SyntaxError, ValueError, UnicodeDecodeError, MemoryError, RecursionError) as e:
        return {"path": path, "ok": False, "error": f"{type(e).__name__}: {e}"}
    x = Extractor()
    x.visit(tree)
    return {
        "path": path,
        "ok": True,
        "units": x.units,
        "imports": x.imports,
        "calls": sorted(x.calls),
        "docstring": ast.get_docstring(tree, clean=False),
    }


def main():
    paths = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    sys.setrecursionlimit(10000)
    with Pool() as pool:
        for result in pool.imap(extract, paths, chunksize=8):
            sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
