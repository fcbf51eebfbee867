"""Do the solutions learn with the notebooks' own default parameters, on each data source a student may have?

Issue 24.1: every solution notebook is executed headlessly (papermill) exactly as a student would run it — the
defaults of its `parameters` cell, only `DATA_SOURCE` (and a scratch `OUTPUT_DIR`) injected — once on the bundled
sample (offline) and once on the full aclImdb data. From what the notebook handed in (`OUTPUT_DIR/qN/`) it reads
every trained model's test accuracy (a cell appended to a copy collects
the notebook's `train.Run` records; for 05 the TF-IDF baseline comes from what q4 handed in), and it times the whole notebook (wall and
the kernel's CPU seconds). Goals: test accuracy >= 0.75 for the graded models of 01-04; 05's best row >= the
TF-IDF baseline - 5 points; <= 5 minutes per notebook on this 2-core CPU.

    python benchmarks/bench_defaults.py                          # every assignment x {sample, full}
    python benchmarks/bench_defaults.py --assignments 01 02 --sources sample
    python benchmarks/bench_defaults.py --quick                  # smoke test: 01 on the sample only
    python benchmarks/bench_defaults.py --merge results/a.json results/b.json --readme   # one table from several runs

Writes results/defaults.json (or --out) and prints the table; `--readme` rewrites the table in benchmarks/README.md.
"""
from __future__ import annotations
import json, os, resource, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

ASSIGNMENTS = ["01_epochs", "02_stacked", "03_embedding_lstm", "04_gru", "05_tuning"]
GOAL_ACCURACY, GOAL_BASELINE_GAP, GOAL_SECONDS = 0.75, 0.05, 300
README_START, README_END = "<!-- bench_defaults:start -->", "<!-- bench_defaults:end -->"
NOT_LEARNING = ("raw_run",)  # 01 q4 trains raw word ids on purpose: it must stay at chance


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN); return r.ru_utime + r.ru_stime


COLLECT = """
# bench_defaults: every train.Run the notebook holds (in a variable, a dict or a table's attrs), as JSON
import json as _json
from imdb_course.train import Run as _Run
def _runs(v, key, seen, out):
    if isinstance(v, _Run):  # a table's copies carry copies of its runs: one row per (name, numbers)
        if (key_ := (v.name, v.test_accuracy, v.epochs, round(v.seconds, 3))) not in seen:
            seen.add(key_); out.append(dict(var=key, name=v.name, test_accuracy=v.test_accuracy, epochs=v.epochs,
                                             best_epoch=v.best_epoch, seconds=round(v.seconds, 1)))
    elif isinstance(v, dict):
        for k, x in v.items(): _runs(x, f"{key}[{k!r}]", seen, out)
    elif hasattr(v, "attrs") and isinstance(getattr(v, "attrs", None), dict) and "runs" in v.attrs:
        _runs(v.attrs["runs"], f"{key}.attrs['runs']", seen, out)
_found, _seen = [], set()
for _k, _v in list(globals().items()):
    if not _k.startswith("_"): _runs(_v, _k, _seen, _found)
print("BENCH_RUNS", _json.dumps(_found))
print("BENCH_PARAMS", _json.dumps({_k: _v for _k, _v in globals().get("PARAMS", {}).items() if _k in ("MAXLEN", "EPOCHS", "TRAIN_SAMPLES")}))
"""


def with_collect_cell(nb_path:Path, out:Path) -> Path:
    "A copy of the notebook with COLLECT appended (the original is never touched)."
    import nbformat
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(COLLECT))
    nbformat.write(nb, out)
    return out


def collected(executed:Path, what:str="BENCH_RUNS", empty=None):
    "What the COLLECT cell printed after `what` (the runs, or the parameters in force: MAXLEN after `use_defaults`)."
    import nbformat
    nb = nbformat.read(executed, as_version=4)
    text = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []))  # a print may arrive in several outputs
    for line in text.splitlines():
        if line.startswith(what + " "): return json.loads(line[len(what) + 1:])
    return [] if empty is None else empty


def collected_runs(executed:Path) -> list: return collected(executed)


def handed_answer(out:Path, question:str) -> dict:
    f = out/question/"answer.json"
    return json.loads(f.read_text()).get("answer", {}) if f.is_file() else {}


def verdict(assignment:str, runs:list, out:Path) -> dict:
    "The figures the goal is judged on: every model meant to learn (01-04) or the best GRU vs the baseline (05)."
    if assignment == "05_tuning":
        a = handed_answer(out, "q4")
        best, base = a.get("best_rnn_accuracy"), a.get("baseline_accuracy")
        if best is None or base is None: return dict(judged="q4 not handed in", lowest=None, goal_met=False)
        return dict(judged=f"best GRU ({a.get('best_rnn')}) {best:.3f} vs TF-IDF {base:.3f}", lowest=best,
                    baseline=base, goal_met=bool(best >= base - GOAL_BASELINE_GAP))
    learning = [r for r in runs if r["test_accuracy"] is not None and not r["var"].startswith(NOT_LEARNING)]
    if not learning: return dict(judged="no run found", lowest=None, goal_met=False)
    low = min(r["test_accuracy"] for r in learning)
    return dict(judged=", ".join(f"{r['name']} {r['test_accuracy']:.3f}" for r in learning), lowest=low,
                goal_met=low >= GOAL_ACCURACY)


def _default(nb:Path, name:str):
    "The literal default of `name` in the notebook's parameters cell."
    import ast, nbformat
    cell = next(c for c in nbformat.read(nb, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    return next((ast.literal_eval(n.value) for n in ast.parse(cell.source).body if n.targets[0].id == name), None)


def run_one(assignment:str, source:str, label:str, work:Path) -> dict:
    from imdb_course.grading.sandbox import run_copy
    nb = C.ROOT/"solutions"/f"{assignment}.ipynb"
    out = work/assignment/label
    out.mkdir(parents=True, exist_ok=True)
    cpu0, t0 = _children_cpu(), time.perf_counter()
    err = None
    copy = with_collect_cell(nb, out/f"{assignment}.ipynb")
    try: run_copy(copy, out/"executed.ipynb", dict(DATA_SOURCE=source, OUTPUT_DIR=str(out/"handed_in")), cwd=out, progress=False)
    except Exception as e: err = f"{type(e).__name__}: {str(e)[-400:]}"
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    runs = collected_runs(out/"executed.ipynb") if not err else []
    in_force = collected(out/"executed.ipynb", "BENCH_PARAMS", {}) if not err else {}
    row = dict(assignment=assignment, data=label, epochs=_default(nb, "EPOCHS"), maxlen=in_force.get("MAXLEN"), wall_s=round(wall, 1), kernel_cpu_s=round(cpu, 1),
               load_1min=round(os.getloadavg()[0], 2), error=err, runs=runs)
    row.update(verdict(assignment, runs, out/"handed_in") if not err else dict(judged="failed", lowest=None, goal_met=False))
    row["time_goal_met"] = wall <= GOAL_SECONDS
    return row


def table_md(rows) -> str:
    lines = ["| assignment | data | MAXLEN | epochs | test accuracy judged | goal | wall s | kernel CPU s | load |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        goal = "met" if r["goal_met"] else "**missed**"
        judged = ", ".join(dict.fromkeys(r["judged"].split(", ")))  # a table's copies of a run: once
        lines.append(f"| {r['assignment']} | {r['data']} | {r.get('maxlen') or ''} | {r.get('epochs', '')} | {judged} | {goal} | {r['wall_s']:.0f}"
                     f"{'' if r['time_goal_met'] else ' (> 300)'} | {r['kernel_cpu_s']:.0f} | {r['load_1min']} |")
    return "\n".join(lines)


def write_readme(rows, readme:Path):
    text = readme.read_text()
    block = f"{README_START}\n{table_md(rows)}\n{README_END}"
    if README_START in text:
        head, rest = text.split(README_START, 1)
        text = head + block + rest.split(README_END, 1)[1]
    else: text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text)


def main(argv=None):
    p = C.parser(__doc__.split("\n")[0])
    p.add_argument("--assignments", nargs="*", default=None, help="prefixes, e.g. 01 03 (default: all)")
    p.add_argument("--sources", nargs="*", default=["sample", "full"], help="sample and/or full (full: --source)")
    p.add_argument("--readme", action="store_true", help="also rewrite the table in benchmarks/README.md")
    p.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                   help="run nothing: merge these result files (a later file's row wins per assignment and data) into --out")
    a = p.parse_args(argv)
    if a.merge:
        rows = {}
        for f in a.merge:
            for r in json.loads(Path(f).read_text())["rows"]: rows[(r["assignment"], r["data"])] = r
        rows = [rows[k] for k in sorted(rows, key=lambda k: (k[0], k[1] != "sample"))]
        out = Path(a.out) if a.out else C.RESULTS/"defaults.json"
        out.write_text(json.dumps(dict(merged_from=[Path(f).name for f in a.merge], goals=dict(accuracy=GOAL_ACCURACY,
                       baseline_gap=GOAL_BASELINE_GAP, seconds=GOAL_SECONDS), rows=rows), indent=1))
        print(table_md(rows))
        if a.readme: write_readme(rows, C.HERE/"README.md")
        return
    names = [n for n in ASSIGNMENTS if not a.assignments or any(n.startswith(x) for x in a.assignments)]
    sources = a.sources
    if a.quick: names, sources = names[:1], ["sample"]
    srcs = {"sample": "sample", "full": a.source}
    out = Path(a.out) if a.out else C.RESULTS/("defaults_quick.json" if a.quick else "defaults.json")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_defaults_") as tmp:
        for name in names:
            for label in sources:
                r = run_one(name, srcs[label], label, Path(tmp))
                rows.append(r)
                print(f"{name} {label}: {r['judged']} goal {'met' if r['goal_met'] else 'MISSED'}; "
                      f"{r['wall_s']:.0f} s wall, {r['kernel_cpu_s']:.0f} s CPU, load {r['load_1min']}"
                      + (f"; ERROR {r['error']}" if r["error"] else ""), flush=True)
                result = dict(machine=C.machine_info(), goals=dict(accuracy=GOAL_ACCURACY, baseline_gap=GOAL_BASELINE_GAP,
                              seconds=GOAL_SECONDS), rows=rows)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(result, indent=1))  # after every run: an interrupted benchmark keeps its rows
    print(table_md(rows))
    if a.readme and not a.quick: write_readme(rows, C.HERE/"README.md")
    print(f"wrote {out}")


if __name__ == "__main__": main()
