"""Measure how close the API notebooks are to the fastcore/nbdev form (issue 23 item 6).

Usage: `python tools/nb_form.py [PATH ...]` (default: every `nbs/api/**/*.ipynb`); `--total` prints only the totals.

Per notebook and in total:
- `exp`     export cells (`#| export`, `#| exporti`, `#| exports`)
- `lines`   mean lines per export cell (code lines: neither blank nor a `#|` directive)
- `multi%`  share of export cells with more than one top-level definition of a public name
            (def / class / assignment to a name without a leading `_`; imports do not count)
- `defs`    public top-level definitions in export cells
- `ex`      example cells: code cells that are not exported (and not `#| hide` set-up)
- `d/ex`    definitions per example cell
- `try`     `try:` statements in example cells
- `AE`      `AssertionError` mentions in example cells (a hand-written assertion block names it)
- `tryAE`   `try:` statements in example cells that raise `AssertionError` (in body, handler or `else`)
- `assert`  bare `assert` statements in example cells
"""
from __future__ import annotations
import ast, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPORT = re.compile(r"^#\|\s*export[si]?\b")
DIRECTIVE = re.compile(r"^\s*#\|")


def _source(cell) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _parse(src: str) -> ast.Module | None:
    "Parse cell code; IPython magics and shell escapes are blanked out first."
    code = "\n".join("" if l.lstrip().startswith(("%", "!")) else l for l in src.splitlines())
    try: return ast.parse(code)
    except SyntaxError: return None


def _public_names(stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names = [stmt.name]
    elif isinstance(stmt, ast.Assign): names = [n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name): names = [stmt.target.id]
    else: names = []
    return [n for n in names if not n.startswith("_")]


def definitions(tree) -> int:
    "Top-level statements that define at least one public name."
    return sum(1 for s in tree.body if _public_names(s)) if tree else 0


def _raises_assertion(nodes) -> bool:
    for n in nodes:
        for m in ast.walk(n):
            if isinstance(m, ast.Raise) and m.exc is not None and "AssertionError" in ast.unparse(m.exc): return True
    return False


def measure(nb: Path) -> dict:
    cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
    r = dict(exp=0, lines=0, multi=0, defs=0, ex=0, tries=0, ae=0, tryae=0, asserts=0)
    for c in cells:
        src = _source(c)
        dirs = [l.strip() for l in src.splitlines() if DIRECTIVE.match(l)]
        tree = _parse(src)
        if any(EXPORT.match(d) for d in dirs):
            r["exp"] += 1
            r["lines"] += sum(1 for l in src.splitlines() if l.strip() and not DIRECTIVE.match(l))
            d = definitions(tree)
            r["defs"] += d
            r["multi"] += d > 1
            continue
        if any(re.match(r"#\|\s*(hide|default_exp)\b", d) for d in dirs) or not src.strip(): continue
        r["ex"] += 1
        r["ae"] += src.count("AssertionError")
        if tree is None: continue
        for n in ast.walk(tree):
            if isinstance(n, ast.Try):
                r["tries"] += 1
                r["tryae"] += _raises_assertion(n.body + n.handlers + n.orelse)
            elif isinstance(n, ast.Assert): r["asserts"] += 1
    return r


HEAD = f"{'notebook':34} {'exp':>4} {'lines':>6} {'multi%':>7} {'defs':>5} {'ex':>4} {'d/ex':>5} {'try':>4} {'AE':>4} {'tryAE':>5} {'assert':>6}"


def row(name: str, r: dict) -> str:
    mean = r["lines"] / r["exp"] if r["exp"] else 0
    multi = 100 * r["multi"] / r["exp"] if r["exp"] else 0
    dex = r["defs"] / r["ex"] if r["ex"] else float("nan")
    return (f"{name:34} {r['exp']:>4} {mean:>6.1f} {multi:>6.0f}% {r['defs']:>5} {r['ex']:>4} {dex:>5.1f} "
            f"{r['tries']:>4} {r['ae']:>4} {r['tryae']:>5} {r['asserts']:>6}")


def main(argv: list[str]) -> None:
    total_only = "--total" in argv
    paths = [Path(a) for a in argv if a != "--total"]
    nbs = sorted(p for a in paths for p in ([a] if a.is_file() else a.rglob("*.ipynb"))) if paths else \
        sorted((ROOT / "nbs" / "api").rglob("*.ipynb"))
    nbs = [p for p in nbs if ".ipynb_checkpoints" not in p.parts]
    tot = dict.fromkeys(["exp", "lines", "multi", "defs", "ex", "tries", "ae", "tryae", "asserts"], 0)
    print(HEAD)
    for p in nbs:
        r = measure(p)
        for k in tot: tot[k] += r[k]
        if not total_only:
            try: name = str(p.resolve().relative_to(ROOT / "nbs" / "api"))
            except ValueError: name = str(p)
            print(row(name, r))
    print(row(f"TOTAL ({len(nbs)} notebooks)", tot))


if __name__ == "__main__": main(sys.argv[1:])
