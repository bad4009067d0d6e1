#!/usr/bin/env python3
"""pyatlas's repo map against aider's, at the same budgets.

    repo_map_vs_aider.py MCP_BINARY ROOT --assets DIR [--files 30] [--budgets 1024,2048,4096]

For each of the first N Python files under ROOT (sorted by path) that use
at least one definition of another file, both maps are drawn focused on
that file: aider's `RepoMap` (aider-chat from PyPI) with the file as its
chat file, and pyatlas's `repo_map` tool (the `mcp` example, spoken to over
stdio) with the file as its focus. Both count tokens with cl100k.

What a file really uses is found by CPython's `ast`, independently of both
tools: names bound by `from M import name` and `import M` / `M.name` where M
is a module of ROOT and `name` a top-level function or class of M's file,
used in the focus file. Recall is the share of those definitions that a
map shows (its file and its top-level `def`/`class` line), over all focus
files. The MCP tool keeps 20 tokens of its budget for its closing line.
"""
import argparse
import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import tiktoken


def modules(root):
    """Module name -> file, for every .py under root (packages by __init__)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            found[".".join(parts)] = rel.as_posix()
    return found


def top_level(path):
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def uses(root, rel, mods, defs):
    """(file, name) of other files' top-level definitions that `rel` uses."""
    path = root / rel
    module = ".".join(Path(rel).with_suffix("").parts)
    if module.endswith(".__init__"):
        module = module[: -len(".__init__")]
    package = module if rel.endswith("__init__.py") else module.rpartition(".")[0]
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return set()
    used_names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attrs = {(n.value.id, n.attr) for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join(anchor + ([base] if base else []))
            target = mods.get(base)
            for alias in node.names:
                local = alias.asname or alias.name
                if target and target != rel and alias.name in defs.get(target, ()) and local in used_names:
                    found.add((target, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                target = mods.get(alias.name)
                local = alias.asname or alias.name.split(".")[0]
                if target and target != rel and alias.asname:
                    found |= {(target, a) for (v, a) in attrs if v == local and a in defs.get(target, ())}
    return found


DEF = re.compile(r"^│(async def|def|class) (\w+)")


def shown(text):
    """(file, name) of the top-level definitions a map shows."""
    current, seen = None, set()
    for line in text.splitlines():
        if line and not line.startswith(("│", "⋮")) and line.rstrip().endswith(":"):
            current = line.rstrip()[:-1]
        elif current:
            m = DEF.match(line)
            if m:
                seen.add((current, m.group(2)))
    return seen


class Mcp:
    def __init__(self, binary, root):
        self.proc = subprocess.Popen([binary, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.next = 0
        self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def send(self, message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def request(self, method, params):
        self.next += 1
        self.send({"jsonrpc": "2.0", "id": self.next, "method": method, "params": params})
        while True:
            reply = json.loads(self.proc.stdout.readline())
            if reply.get("id") == self.next:
                return reply

    def repo_map(self, focus, budget):
        reply = self.request("tools/call", {"name": "repo_map", "arguments": {"focus": [focus], "max_tokens": budget}})
        return "".join(c.get("text", "") for c in reply["result"]["content"])


class Model:
    def __init__(self, assets):
        import tempfile

        import tiktoken.load
        import tiktoken_ext.openai_public as openai_public

        # The BPE file vendored by tiktoken-rs (the chunker's), not a download.
        os.environ["TIKTOKEN_CACHE_DIR"] = tempfile.mkdtemp()
        tiktoken.load.read_file = lambda url: (Path(assets) / url.rsplit("/", 1)[1]).read_bytes()
        self.enc = tiktoken.Encoding(**openai_public.cl100k_base())

    def token_count(self, text):
        return len(self.enc.encode(text))


class Io:
    def read_text(self, path, silent=False):
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def tool_output(self, *a, **k):
        pass

    tool_warning = tool_error = tool_output


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mcp")
    parser.add_argument("root", type=Path)
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--budgets", default="1024,2048,4096")
    parser.add_argument("--assets", required=True, help="tiktoken-rs's assets folder (cl100k_base.tiktoken)")
    args = parser.parse_args()
    root = args.root.resolve()
    from aider.repomap import RepoMap

    mods = modules(root)
    files = sorted(set(mods.values()))
    defs = {f: top_level(root / f) for f in files}
    focus = [(f, u) for f in files if (u := uses(root, f, mods, defs))][: args.files]
    budgets = [int(b) for b in args.budgets.split(",")]
    mcp = Mcp(args.mcp, root)
    enc = Model(args.assets)
    totals = {b: {"truth": 0, "aider": 0, "pyatlas": 0, "aider_tokens": [], "pyatlas_tokens": []} for b in budgets}
    for budget in budgets:
        for rel, truth in focus:
            os.chdir(root)
            rm = RepoMap(map_tokens=budget, root=str(root), main_model=enc, io=Io(), refresh="always")
            others = [str(root / f) for f in files if f != rel]
            aider_map = rm.get_repo_map([str(root / rel)], others) or ""
            ours = mcp.repo_map(rel, budget)
            ours = ours.rsplit("\n(", 1)[0] + "\n"
            t = totals[budget]
            t["truth"] += len(truth)
            t["aider"] += len(truth & shown(aider_map))
            t["pyatlas"] += len(truth & shown(ours))
            t["aider_tokens"].append(enc.token_count(aider_map))
            t["pyatlas_tokens"].append(enc.token_count(ours))
    print(f"{root.name}: {len(focus)} focus files, {sum(len(u) for _, u in focus)} used definitions")
    print("| budget | aider recall | pyatlas recall | aider median tokens | pyatlas median tokens |")
    print("|---|---|---|---|---|")
    for budget, t in totals.items():
        med = lambda xs: sorted(xs)[len(xs) // 2] if xs else 0
        print(
            f"| {budget} | {t['aider'] / max(t['truth'], 1):.0%} ({t['aider']}/{t['truth']}) "
            f"| {t['pyatlas'] / max(t['truth'], 1):.0%} ({t['pyatlas']}/{t['truth']}) "
            f"| {med(t['aider_tokens'])} | {med(t['pyatlas_tokens'])} |"
        )


if __name__ == "__main__":
    sys.exit(main())
