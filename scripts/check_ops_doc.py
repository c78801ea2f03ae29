#!/usr/bin/env python3
"""Fails when a public op has no row in docs/ops.md.

Reads the op declarations (`TAPEFLOW_API ... name(`) of include/tapeflow/ops.hpp and of the
public headers it includes, tracks `namespace x {` blocks (so `nn::conv2d` is looked for as
`nn::conv2d`), and looks for each qualified name in backquotes in docs/ops.md.
Usage: check_ops_doc.py [repository root]
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
inc = root / "include" / "tapeflow"
doc = (root / "docs" / "ops.md").read_text(encoding="utf-8")
documented = set(re.findall(r"`([A-Za-z_:0-9]+)[(`]", doc))

headers, seen = [inc / "ops.hpp"], set()
missing = []
names = set()
while headers:
    h = headers.pop()
    if h in seen or not h.exists():
        continue
    seen.add(h)
    text = h.read_text(encoding="utf-8")
    for m in re.finditer(r'#include "tapeflow/([a-z_]+\.hpp)"', text):
        if m.group(1) not in ("tensor.hpp", "export.hpp", "shape.hpp", "dtype.hpp", "errors.hpp",
                              "device.hpp", "variable.hpp", "tape.hpp"):
            headers.append(inc / m.group(1))
    stack = []
    for line in text.splitlines():
        ns = re.match(r"\s*namespace\s+([a-z_:]+)\s*\{", line)
        if ns:
            stack.append(ns.group(1))
            continue
        if re.match(r"\s*\}\s*//\s*namespace", line):
            if stack:
                stack.pop()
            continue
        fn = re.match(r"\s*TAPEFLOW_API\s+[^(]*?\b([a-z_][a-z_0-9]*)\(", line)
        if fn and not any("detail" in s for s in stack):
            parts = [p for s in stack for p in s.split("::") if p != "tapeflow"]
            name = "::".join(parts + [fn.group(1)])
            names.add(name)
            if name not in documented:
                missing.append(f"{h.relative_to(root)}: {name}")

if missing:
    print("docs/ops.md has no row for these public ops:\n  " + "\n  ".join(sorted(set(missing))))
    sys.exit(1)
print(f"docs/ops.md covers all {len(names)} ops declared in {len(seen)} header(s)")
