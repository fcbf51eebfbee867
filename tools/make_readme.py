#!/usr/bin/env python3
"""Generate README.md from nbs/index.ipynb (Quarto-free stand-in for `nbdev-readme`).

Markdown cells are copied; code cells become ```python blocks (cells starting with `#| hide` are skipped);
text outputs are kept as plain blocks.  `python tools/make_readme.py --check` exits 1 when README.md is stale.
"""
import argparse, sys
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parents[1]
HEADER = "<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->\n\n"

def render(nb_path=ROOT/"nbs"/"index.ipynb") -> str:
    nb = nbformat.read(nb_path, as_version=4)
    parts = []
    for cell in nb.cells:
        src = cell.source.strip()
        if not src or src.startswith("#| hide"): continue
        if cell.cell_type == "markdown": parts.append(src)
        elif cell.cell_type == "code":
            code = "\n".join(l for l in src.splitlines() if not l.startswith("#|"))
            parts.append(f"```python\n{code}\n```")
            text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
            if text.strip(): parts.append(f"```\n{text.rstrip()}\n```")
    return HEADER + "\n\n".join(parts) + "\n"

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true", help="only report whether README.md is up to date")
    a = ap.parse_args()
    text, readme = render(), ROOT/"README.md"
    if a.check:
        ok = readme.exists() and readme.read_text() == text
        print("README.md is up to date" if ok else "README.md is out of date: run python tools/make_readme.py")
        sys.exit(0 if ok else 1)
    readme.write_text(text)
    print(f"wrote {readme}")
