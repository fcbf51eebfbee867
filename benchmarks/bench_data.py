"""`load_imdb` on the full data: cold (empty cache: read + tokenize the archive), cached (a new process reading the
tokenized .npz cache) and in memory (a second call in the same process).

Each cold/cached measurement runs in a fresh Python process with its own IMDB_COURSE_CACHE; the time is the
`load_imdb(num_words=10_000)` call itself (Python and NumPy start-up excluded, reported separately).

    python benchmarks/bench_data.py            # full run (~1 min)
    python benchmarks/bench_data.py --quick    # smoke test on the bundled sample
"""
import json, os, subprocess, sys, tempfile, time
from pathlib import Path
from _common import banner, markdown, parser, save

NAME = "data"


def child(source:str, calls:int):
    "Runs in the measured process: time the imports, then `calls` load_imdb calls; print JSON."
    t0 = time.perf_counter()
    from imdb_course.data import load_imdb_data
    t_import = time.perf_counter() - t0
    out = {"import_seconds": t_import, "calls": []}
    for _ in range(calls):
        c0, w0 = time.process_time(), time.perf_counter()
        d = load_imdb_data(num_words=10_000, source=source, verbose=False)
        out["calls"].append({"seconds": time.perf_counter() - w0, "cpu_seconds": time.process_time() - c0,
                             "cached": d.source.cached, "train": len(d.y_train), "test": len(d.y_test)})
    print("RESULT " + json.dumps(out))


def measure(source:str, cache:Path, calls:int=1) -> dict:
    "Run `child` in a new process with cache directory `cache`."
    env = {**os.environ, "IMDB_COURSE_CACHE": str(cache)}
    w0 = time.perf_counter()
    cp = subprocess.run([sys.executable, __file__, "--child", "--source", source, "--calls", str(calls)],
                        env=env, capture_output=True, text=True, check=True)
    line = next(l for l in cp.stdout.splitlines() if l.startswith("RESULT "))
    return {**json.loads(line[7:]), "process_seconds": time.perf_counter() - w0}


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="cold and cached measurements (each a new process)")
    p.add_argument("--child", action="store_true", help=argparse_hidden())
    p.add_argument("--calls", type=int, default=1, help=argparse_hidden())
    args = p.parse_args(argv)
    if args.quick: args.source = "sample"
    if args.child: return child(args.source, args.calls)
    banner("load_imdb: cold vs cached vs in memory", args)

    import pandas as pd
    rows = []
    with tempfile.TemporaryDirectory(prefix="imdb-bench-cache-") as tmp:
        for i in range(args.repeats):
            cache = Path(tmp)/f"cold{i}"  # empty: tokenize from the archive, then write the cache
            r = measure(args.source, cache, calls=1)
            rows.append({"mode": "cold (empty cache, new process)", **r["calls"][0], "process_seconds": r["process_seconds"],
                         "import_seconds": r["import_seconds"],
                         "cache_mb": sum(f.stat().st_size for f in cache.glob("*.npz")) / 2**20})
            print(f"   cold {i + 1}: {rows[-1]['seconds']:.2f} s", flush=True)
        for i in range(args.repeats):
            r = measure(args.source, Path(tmp)/"cold0", calls=3)  # cache written by the first cold run
            first, *again = r["calls"]
            rows.append({"mode": "cached (new process)", **first, "process_seconds": r["process_seconds"],
                         "import_seconds": r["import_seconds"]})
            for c in again: rows.append({"mode": "in memory (same process, again)", **c})
            print(f"   cached {i + 1}: {first['seconds']:.2f} s; in memory {again[0]['seconds']:.3f} s", flush=True)
    table = pd.DataFrame(rows)
    agg = (table.groupby("mode", sort=False)
                .agg(n=("seconds", "size"), median_seconds=("seconds", "median"), min_seconds=("seconds", "min"),
                     max_seconds=("seconds", "max"), median_cpu_seconds=("cpu_seconds", "median"),
                     cached_flag=("cached", "first"))
                .reset_index())
    print()
    print(agg.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    md = markdown(agg[["mode", "n", "median_seconds", "min_seconds", "max_seconds"]],
                  {"median_seconds": ".3g", "min_seconds": ".3g", "max_seconds": ".3g"})
    print("\n" + md)
    save(NAME, args, {"settings": {"source": args.source, "num_words": 10_000, "repeats": args.repeats},
                      "notes": "seconds: wall time of one load_imdb_data(num_words=10_000) call (imports excluded: "
                               "import_seconds); cold includes the sha256 of the archive, reading + tokenizing 50,000 "
                               "reviews and writing the cache; cached = sha256 + reading the .npz + building id lists.",
                      "table": agg.to_dict("records"), "measurements": rows, "markdown": md})


def argparse_hidden():
    import argparse
    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
