#!/usr/bin/env python3
"""Fails when two files of one crate import each other, directly or around a loop.

A crate's files form a graph: an edge from a file to each file whose items it uses
(`use crate::a::X`, `crate::a::f()`, `use super::x`). Re-exports (`pub use`) and `mod`
declarations are the crate's structure, not dependencies, and are not edges; nor are test
modules (`#[cfg(test)] mod ...` to the end of a file). A loop in that graph means two files
that cannot be read, or changed, one without the other: the shared part belongs in a module
of its own (ARCHITECTURE.md, "Invariants"). Run by `make lint`.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = sorted(p.parent for p in ROOT.glob("crates/*/src")) + [ROOT / "fixtures"]


def module_of(src: Path, file: Path) -> str:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return "::".join(parts)


def strip(text: str) -> str:
    """The file without comments, literals, test modules and re-exports."""
    text = without_comments_and_literals(text)
    test = re.search(r"#\[cfg\(test\)\]\s*(pub(\(crate\))?\s+)?mod\s+\w+\s*\{", text)
    if test:
        text = text[: test.start()]
    return re.sub(r"pub(\([^)]*\))?\s+use\s+[^;]*;", "", text)


def without_comments_and_literals(text: str) -> str:
    """Comments dropped, string and char literals emptied, as a lexer reads them."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            i = text.find("*/", i + 2)
            i = n if i < 0 else i + 2
        elif c == "r" and re.match(r'r#*"', text[i:]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + len(hashes) + 2)
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            i += len(re.match(r"'(\\.|[^\\'])'", text[i:]).group(0))
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def used_paths(text: str) -> list[str]:
    """Every `crate::...` or `super::...` path, braces of a `use` expanded."""
    paths = []
    for m in re.finditer(r"\buse\s+((?:crate|super)::[^;]*);", text):
        paths.extend(expand(m.group(1).replace(" ", "").replace("\n", "")))
    body = re.sub(r"\buse\s+[^;]*;", "", text)
    paths.extend(re.findall(r"\b(?:crate|super)(?:::\w+)+", body))
    return paths


def expand(tree: str) -> list[str]:
    brace = tree.find("{")
    if brace < 0:
        return [tree]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    items, depth, start = [], 0, 0
    for i, c in enumerate(inner):
        depth += c == "{"
        depth -= c == "}"
        if c == "," and depth == 0:
            items.append(inner[start:i])
            start = i + 1
    items.append(inner[start:])
    return [p for item in items if item for p in expand(prefix + item)]


def resolve(path: str, here: str, modules: set[str], reexports: dict[str, str]) -> str | None:
    parts = path.split("::")
    if parts[0] == "super":
        base = here.split("::")[:-1] if here else []
        parts = base + parts[1:]
    else:
        parts = parts[1:]
    for n in range(len(parts), 0, -1):
        candidate = "::".join(parts[:n])
        if candidate in modules:
            return candidate
    if parts and parts[0] in reexports:
        return reexports[parts[0]]
    return None


def loops_in(crate: Path) -> list[list[str]]:
    src = crate / "src"
    files = {module_of(src, f): f for f in src.rglob("*.rs") if "bin" not in f.relative_to(src).parts}
    modules = set(files) - {""}
    root = files.get("")
    reexports = {}
    if root:
        for m in re.finditer(r"pub\s+use\s+(\w+)::([^;]*);", root.read_text()):
            for item in expand(m.group(1) + "::" + m.group(2).replace(" ", "").replace("\n", "")):
                name = item.split("::")[-1]
                if m.group(1) in modules:
                    reexports[name] = m.group(1)
    graph = {}
    for name, f in files.items():
        if not name:
            continue
        targets = set()
        for p in used_paths(strip(f.read_text())):
            t = resolve(p, name, modules, reexports)
            if t and t != name and not name.startswith(t + "::") and not t.startswith(name + "::"):
                targets.add(t)
        graph[name] = targets
    return [c for c in strongly_connected(graph) if len(c) > 1]


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    found = 0
    for crate in CRATES:
        for component in loops_in(crate):
            found += 1
            print(f"{crate.relative_to(ROOT)}: files that import each other: {', '.join(component)}")
    if found:
        print("move what they share into a module of its own (ARCHITECTURE.md, Invariants)")
        return 1
    print(f"no import loops between the files of {len(CRATES)} crates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
