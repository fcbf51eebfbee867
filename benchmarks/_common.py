"""Shared helpers of the benchmark scripts: command line, machine info, data loading, timing, result files.

Benchmarks are measurements, not tests: nothing here is collected by pytest (no `test_` names)."""
from __future__ import annotations
import argparse, datetime as dt, json, math, os, platform, sys, time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # bench_backends.py sets it per subprocess
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE/"results"
DEFAULT_SOURCE = "/work/shared/data/aclImdb_labeled.tar.gz"  # override with --source or $IMDB_COURSE_DATA
QUICK_TRAIN, QUICK_TEST = 2_000, 1_000  # --quick: reviews kept per split

if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))  # run from a clone without installing


def parser(description:str) -> argparse.ArgumentParser:
    "An argument parser with the options every benchmark shares."
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--source", default=os.environ.get("IMDB_COURSE_DATA", DEFAULT_SOURCE),
                   help="aclImdb .tar.gz or directory (or 'sample')")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke test: {QUICK_TRAIN:,} train / {QUICK_TEST:,} test reviews, 1 epoch; results go to *_quick.json")
    p.add_argument("--out", default=None, help="JSON result file (default benchmarks/results/<name>.json)")
    return p


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"): return line.split(":", 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    "Cores, CPU model, memory, library versions, load and date: what a reader needs to compare numbers."
    import numpy, sklearn
    info = {"date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "hostname_cores": os.cpu_count(), "cpu_model": cpu_model(), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": numpy.__version__, "scikit_learn": sklearn.__version__,
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]}
    try: info["cpus_available"] = len(os.sched_getaffinity(0))
    except AttributeError: pass
    try:
        import psutil
        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError: pass
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras
        info.update(keras=keras.__version__, keras_backend=keras.backend.backend())
        if "tensorflow" in sys.modules: info["tensorflow"] = sys.modules["tensorflow"].__version__
        if "jax" in sys.modules: info["jax"] = sys.modules["jax"].__version__
    import imdb_course
    info["imdb_course"] = imdb_course.__version__
    return info


def load_data(args, num_words:int=10_000, maxlen:int|None=None, **kw):
    "Full (or --quick subsampled) IMDB word ids `((x_train, y_train), (x_test, y_test))` and the load's info dict."
    from imdb_course.data import load_imdb_data, subsample
    d = load_imdb_data(num_words=num_words, maxlen=maxlen, source=args.source, verbose=False, **kw)
    (xtr, ytr), (xte, yte) = d.train, d.test
    if args.quick:
        xtr, ytr = subsample(xtr, ytr, QUICK_TRAIN, seed=0)
        xte, yte = subsample(xte, yte, QUICK_TEST, seed=0)
    return ((xtr, ytr), (xte, yte)), d.info


@contextmanager
def timer():
    "Yields a dict that gets `wall` and `cpu` seconds (this process incl. its threads) when the block ends."
    t = {}
    w0, c0 = time.perf_counter(), time.process_time()
    load0 = os.getloadavg()[0]
    try: yield t
    finally:
        t.update(wall=time.perf_counter() - w0, cpu=time.process_time() - c0,
                 load_average_1min=[round(load0, 2), round(os.getloadavg()[0], 2)])


def _clean(v):
    "JSON-safe values (NaN -> None, numpy scalars -> Python)."
    import numpy as np
    if isinstance(v, dict): return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)): return [_clean(x) for x in v]
    if isinstance(v, np.ndarray): return _clean(v.tolist())
    if isinstance(v, (np.bool_, bool)): return bool(v)
    if isinstance(v, np.integer): return int(v)
    if isinstance(v, (float, np.floating)): return None if not math.isfinite(float(v)) else float(v)
    if v is None or isinstance(v, (int, str)): return v
    if hasattr(v, "isoformat"): return v.isoformat()
    return str(v)


def frame_records(df) -> list[dict]:
    "A DataFrame as a JSON-safe list of row dicts (pd.NA -> None)."
    import pandas as pd
    return [_clean({k: (None if pd.isna(v) else v) if not isinstance(v, (list, dict)) else v for k, v in row.items()})
            for row in df.to_dict("records")]


def save(name:str, args, payload:dict) -> Path:
    "Write `payload` + machine info + the command line to the result JSON; returns its path."
    out = Path(args.out) if args.out else RESULTS/f"{name}{'_quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": name, "quick": bool(args.quick), "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
           "machine": machine_info(), **payload}
    out.write_text(json.dumps(_clean(doc), indent=1) + "\n")
    print(f"\nwrote {out}")
    return out


def markdown(df, floatfmt:dict|None=None) -> str:
    "A small GitHub markdown table (no tabulate dependency)."
    floatfmt = floatfmt or {}
    cols = list(df.columns)
    def fmt(c, v):
        if v is None or (isinstance(v, float) and math.isnan(v)): return ""
        f = floatfmt.get(c)
        if callable(f): return f(v)
        if f: return format(v, f)
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(fmt(c, v) for c, v in zip(cols, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def banner(title:str, args):
    print(f"# {title}{'  [--quick smoke test: NOT the benchmark numbers]' if args.quick else ''}")
    m = machine_info()
    print(f"# {m['date_utc']}  {m['hostname_cores']} cores  {m['cpu_model']}  load {m['load_average_1_5_15']}", flush=True)
