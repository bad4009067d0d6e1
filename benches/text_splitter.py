"""The peer of `chunk --format jsonl` as a whole process: text-splitter's
`CodeSplitter` (PyPI `semantic-text-splitter`, the Rust crate's Python
binding) with tree-sitter-python, cl100k_base (the `gpt-3.5-turbo` model's
encoding) and a cap of 512 tokens, over the same files as
`benches/cpython_ast.py` reads. Every chunk is written out as a JSON line,
as `chunk --format jsonl` does.

    python3 benches/text_splitter.py <ROOT> > /dev/null

Needs `semantic-text-splitter` and `tree-sitter-python` (scripts/requirements-bench.txt).
"""

import json
import os
import sys
import time

import tree_sitter_python
from semantic_text_splitter import CodeSplitter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpython_ast import python_files  # noqa: E402


def main():
    root = sys.argv[1]
    splitter = CodeSplitter.from_tiktoken_model(tree_sitter_python.language(), "gpt-3.5-turbo", 512)
    start = time.perf_counter()
    files = chunks = 0
    out = sys.stdout
    for path in python_files(root):
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        files += 1
        for offset, chunk in splitter.chunk_indices(text):
            chunks += 1
            out.write(json.dumps({"path": path, "offset": offset, "text": chunk}))
            out.write("\n")
    print(f"{files} files, {chunks} chunks, {time.perf_counter() - start:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
