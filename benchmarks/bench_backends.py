"""TensorFlow vs JAX backend, side by side in one run: epoch wall and CPU seconds per architecture, `import keras`
time, and length-bucketed vs fixed-maxlen batching on both backends (wall AND CPU time).

Each backend runs in its own subprocess (Keras fixes the backend at import). Same reviews, same seed, same models.

    nice -n 10 python benchmarks/bench_backends.py             # ~5-10 min on 2 shared cores
    nice -n 10 python benchmarks/bench_backends.py --quick     # smoke test
"""
import json, os, subprocess, sys, time
from _common import HERE, banner, load_data, markdown, parser, save

NAME = "backends"
ARCHS = {"SimpleRNN": dict(cell="simple_rnn"), "LSTM": dict(cell="lstm"), "GRU": dict(cell="gru"),
         "BiLSTM": dict(cell="lstm", bidirectional=True)}


def import_seconds(backend:str, repeats:int=2) -> float:
    "Best-of-`repeats` wall seconds of `import keras` in a fresh interpreter."
    code = "import time; t = time.perf_counter(); import keras; print(time.perf_counter() - t)"
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return min(float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                    check=True).stdout.split()[-1]) for _ in range(repeats))


def worker(args):
    "Runs inside one backend's subprocess: prints one JSON line of measurements."
    import numpy as np, keras
    from imdb_course.data import pad, subsample
    from imdb_course.models import build_model
    from imdb_course.train import set_seed, train

    class CpuSeconds(keras.callbacks.Callback):
        def __init__(self): super().__init__(); self.seconds = []
        def on_epoch_begin(self, epoch, logs=None): self._t = time.process_time()
        def on_epoch_end(self, epoch, logs=None): self.seconds.append(time.process_time() - self._t)

    (xtr, ytr), (xte, yte) = load_data(args, num_words=args.num_words)[0]
    xtr, ytr = subsample(xtr, ytr, args.train_samples, seed=0); xte, yte = subsample(xte, yte, args.test_samples, seed=0)

    def fit(spec, x, xt, bucketed, name):
        set_seed(args.seed)
        model = build_model(**spec, units=args.units, embedding_dim=32, vocab_size=args.num_words, mask_zero=True, name=name)
        cpu = CpuSeconds()
        run = train(model, ((x, ytr), (xt, yte)), epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                    verbose=0, bucketed=bucketed, callbacks=[cpu])
        keras.backend.clear_session()
        steady = slice(1, None) if args.epochs > 1 else slice(None)  # epoch 1 includes tracing/compiling
        return {"sec_per_epoch": float(np.median(run.epoch_seconds[steady])),
                "cpu_sec_per_epoch": float(np.median(cpu.seconds[steady])), "first_epoch_seconds": run.epoch_seconds[0],
                "test_accuracy": run.test_accuracy, "seconds": run.seconds}

    out = {"backend": keras.backend.backend(), "archs": {}, "bucketing": {}}
    x, xt = pad(xtr, maxlen=args.maxlen), pad(xte, maxlen=args.maxlen)
    for name, spec in ARCHS.items():
        out["archs"][name] = fit(spec, x, xt, False, name)
        print(f"#   {out['backend']} {name}: {out['archs'][name]}", file=sys.stderr, flush=True)
    x, xt = pad(xtr, maxlen=args.bucket_maxlen), pad(xte, maxlen=args.bucket_maxlen)  # bucketed strips the padding
    for variant, bucketed in (("fixed", False), ("bucketed", True)):
        out["bucketing"][variant] = fit(ARCHS["LSTM"], x, xt, bucketed, variant)
        print(f"#   {out['backend']} {variant}: {out['bucketing'][variant]}", file=sys.stderr, flush=True)
    print("RESULT" + json.dumps(out), flush=True)


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--worker", default=None, help="internal: run one backend")
    p.add_argument("--backends", default="tensorflow,jax")
    p.add_argument("--train-samples", type=int, default=2500)
    p.add_argument("--test-samples", type=int, default=1000)
    p.add_argument("--num-words", type=int, default=10_000)
    p.add_argument("--maxlen", type=int, default=200)
    p.add_argument("--bucket-maxlen", type=int, default=500)
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    if args.quick: args.train_samples, args.test_samples, args.epochs = 300, 200, 2
    if args.worker: return worker(args)
    banner("Keras backends: TensorFlow vs JAX", args)
    import pandas as pd
    results = {}
    for backend in args.backends.split(","):
        imp = import_seconds(backend)
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        cmd = [sys.executable, str(HERE/"bench_backends.py"), "--worker", backend, *(argv if argv is not None else sys.argv[1:])]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        sys.stderr.write("".join(l + "\n" for l in proc.stderr.splitlines() if l.startswith("#")))
        if proc.returncode: raise SystemExit(f"{backend} worker failed:\n{proc.stderr[-3000:]}")
        results[backend] = {**json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("RESULT"))[6:]),
                            "import_keras_seconds": imp}
    b = list(results)
    rows = [{"architecture": a, **{f"{k}_{s}": results[k]["archs"][a][m] for m, s in
             (("sec_per_epoch", "s"), ("cpu_sec_per_epoch", "cpu_s")) for k in b}} for a in ARCHS]
    rows.append({"architecture": "import keras", **{f"{k}_s": results[k]["import_keras_seconds"] for k in b}})
    arch = pd.DataFrame(rows)
    if len(b) == 2: arch["faster"] = [b[0] if r[f"{b[0]}_s"] < r[f"{b[1]}_s"] else b[1] for _, r in arch.iterrows()]
    brow = []
    for k in b:
        f, g = results[k]["bucketing"]["fixed"], results[k]["bucketing"]["bucketed"]
        brow.append({"backend": k, "fixed_s": f["sec_per_epoch"], "bucketed_s": g["sec_per_epoch"],
                     "wall_speedup": f["sec_per_epoch"] / g["sec_per_epoch"], "fixed_cpu_s": f["cpu_sec_per_epoch"],
                     "bucketed_cpu_s": g["cpu_sec_per_epoch"], "cpu_speedup": f["cpu_sec_per_epoch"] / g["cpu_sec_per_epoch"],
                     "fixed_acc": f["test_accuracy"], "bucketed_acc": g["test_accuracy"]})
    buck = pd.DataFrame(brow)
    fmt = {c: ".2f" for c in [*arch.columns, *buck.columns] if c not in ("architecture", "backend", "faster")}
    fmt.update(fixed_acc=".1%", bucketed_acc=".1%")
    md_arch, md_buck = markdown(arch, fmt), markdown(buck, fmt)
    print(f"\n# {args.train_samples} train ({args.test_samples} test) reviews, maxlen {args.maxlen}, {args.units} units, "
          f"mask_zero, batch {args.batch_size}, median of epochs 2..{args.epochs} (steady state)\n" + md_arch)
    print(f"\n# bucketing (LSTM {args.units}) vs fixed maxlen {args.bucket_maxlen}\n" + md_buck)
    save(NAME, args, {"settings": {k: v for k, v in vars(args).items() if k != "worker"}, "results": results,
                      "architectures": arch.to_dict("records"), "bucketing": buck.to_dict("records"),
                      "markdown": {"architectures": md_arch, "bucketing": md_buck}})


if __name__ == "__main__":
    main()
