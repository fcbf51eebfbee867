"""Length-bucketed batching vs fixed maxlen=500 padding: same model, same data, same seed, side by side in one run.

Both runs see exactly the same reviews, truncated to their first 500 ids; the model (Embedding + LSTM with
mask_zero=True) is identical. Only the batching differs: every batch padded to 500 (`pad`), or batches drawn from
length buckets and padded to their bucket (`train(..., bucketed=True)`: 16 buckets chosen from the training
lengths by `bucket_sizes`, full batches, the same shapes every epoch), reshuffled every epoch.

    python benchmarks/bench_bucketing.py                    # full run, TensorFlow (~20-40 min on 2 shared cores)
    python benchmarks/bench_bucketing.py --backend jax      # the same on JAX (results/bucketing_jax.json)
    python benchmarks/bench_bucketing.py --quick            # smoke test

Seconds per epoch: the median of the epochs after the first (the first traces/compiles), all epochs with 1 epoch.
"""
import os, time
from _common import banner, frame_records, load_data, markdown, parser, save, timer

NAME = "bucketing"


def padded_tokens(lengths, sizes, maxlen, batch_size) -> dict:
    "Timesteps computed per epoch (reviews x padded length) of the training reviews: fixed padding vs buckets `sizes`."
    import numpy as np
    from imdb_course.train import _bucket_plan, bucket_boundaries
    lengths = np.maximum(np.minimum(np.asarray(lengths), maxlen), 1)
    widths = np.array(bucket_boundaries(int(lengths.max()), sizes)) - 1
    padded = sum(w * len(idx) for w, idx in _bucket_plan(lengths, widths, batch_size, None))  # as train() batches
    return {"bucket_sizes": [int(w) for w in widths], "real_tokens": int(lengths.sum()),
            "fixed_padded_tokens": int(len(lengths) * maxlen), "bucketed_padded_tokens": int(padded),
            "work_ratio": float(len(lengths) * maxlen / padded),
            "real_share_fixed": float(lengths.sum() / (len(lengths) * maxlen)),
            "real_share_bucketed": float(lengths.sum() / padded)}


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--cell", default="lstm")
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--embedding-dim", type=int, default=32)
    p.add_argument("--num-words", type=int, default=10_000)
    p.add_argument("--maxlen", type=int, default=500)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--validation-split", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--order", default="fixed,bucketed", help="which run goes first")
    p.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"), choices=["tensorflow", "jax"])
    args = p.parse_args(argv)
    if args.quick: args.epochs = 2
    os.environ["KERAS_BACKEND"] = args.backend  # before Keras is imported
    out_name = NAME if args.backend == "tensorflow" else f"{NAME}_{args.backend}"
    banner("length-bucketed batching vs fixed padding", args)

    import keras, pandas as pd
    from imdb_course.data import pad, length_stats
    from imdb_course.models import build_model
    import numpy as np
    from imdb_course.train import BUCKET_SIZES, bucket_sizes, set_seed, strip_padding, train

    class CpuSeconds(keras.callbacks.Callback):
        "Process CPU seconds of each epoch (robust to other jobs on the machine)."
        def __init__(self): super().__init__(); self.seconds = []
        def on_epoch_begin(self, epoch, logs=None): self._t = time.process_time()
        def on_epoch_end(self, epoch, logs=None): self.seconds.append(time.process_time() - self._t)

    (xtr, ytr), (xte, yte) = load_data(args, num_words=args.num_words, maxlen=args.maxlen)[0]  # truncated to maxlen
    n_fit = len(ytr) - int(len(ytr) * args.validation_split)  # train() holds out the last reviews for validation
    fit_lengths = [len(s) for s in strip_padding(xtr[:n_fit], args.maxlen)]
    work = padded_tokens(fit_lengths, bucket_sizes(fit_lengths), args.maxlen, args.batch_size)
    coarse = padded_tokens(fit_lengths, BUCKET_SIZES, args.maxlen, args.batch_size)
    work["coarse_bucket_sizes_work_ratio"] = coarse["work_ratio"]
    print(f"# backend {args.backend}; {len(ytr):,} train ({args.validation_split:.0%} validation) / {len(yte):,} test reviews, "
          f"num_words={args.num_words}, reviews truncated to {args.maxlen} ids; {args.cell} {args.units} units, "
          f"mask_zero=True, epochs={args.epochs}, batch={args.batch_size}, seed={args.seed}")
    print(f"# training timesteps per epoch: fixed {work['fixed_padded_tokens']:,} vs bucketed "
          f"{work['bucketed_padded_tokens']:,} ({work['work_ratio']:.2f}x less work; coarse buckets {BUCKET_SIZES}: "
          f"{coarse['work_ratio']:.2f}x); real tokens {work['real_share_fixed']:.0%} of fixed, "
          f"{work['real_share_bucketed']:.0%} of bucketed batches; buckets {work['bucket_sizes']}", flush=True)

    variants = {"fixed": dict(bucketed=False, data=((pad(xtr, maxlen=args.maxlen), ytr), (pad(xte, maxlen=args.maxlen), yte))),
                "bucketed": dict(bucketed=True, data=((xtr, ytr), (xte, yte)))}
    rows, runs = [], {}
    for name in args.order.split(","):
        v = variants[name]
        set_seed(args.seed)
        model = build_model(args.cell, units=args.units, embedding_dim=args.embedding_dim, vocab_size=args.num_words,
                            mask_zero=True, name=f"{args.cell}_{args.units}_{name}")
        cpu = CpuSeconds()
        with timer() as t:
            run = train(model, v["data"], epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=args.validation_split, seed=args.seed, name=name, bucketed=v["bucketed"],
                        callbacks=[cpu])
        eval_s = run.seconds - sum(run.epoch_seconds)
        steady = slice(1, None) if len(cpu.seconds) > 1 else slice(None)  # epoch 1 traces/compiles
        rows.append({"batching": name, "test_accuracy": run.test_accuracy, "best_val_accuracy": run.best_val_accuracy,
                     "best_val_epoch": run.best_epoch, "sec_per_epoch": float(np.median(run.epoch_seconds[steady])),
                     "cpu_sec_per_epoch": float(np.median(cpu.seconds[steady])),
                     "first_epoch_seconds": run.epoch_seconds[0], "first_epoch_cpu_seconds": cpu.seconds[0],
                     "test_eval_seconds": eval_s, "wall_seconds": t["wall"], "cpu_seconds": t["cpu"],
                     "load_average_1min": t["load_average_1min"], "params": run.params})
        runs[name] = {**run.to_dict(), "epoch_cpu_seconds": cpu.seconds}
        print(f"   {name}: test accuracy {run.test_accuracy:.4f}, {rows[-1]['sec_per_epoch']:.1f} s/epoch wall, "
              f"{rows[-1]['cpu_sec_per_epoch']:.1f} s/epoch CPU, load {t['load_average_1min']}", flush=True)
        keras.backend.clear_session()

    table = pd.DataFrame(rows).set_index("batching").loc[["fixed", "bucketed"]].reset_index()
    f, b = table.iloc[0], table.iloc[1]
    summary = {"backend": args.backend, "speedup_wall_sec_per_epoch": f.sec_per_epoch / b.sec_per_epoch,
               "speedup_cpu_sec_per_epoch": f.cpu_sec_per_epoch / b.cpu_sec_per_epoch,
               "speedup_total_wall": f.wall_seconds / b.wall_seconds,
               "speedup_total_cpu": f.cpu_seconds / b.cpu_seconds,
               "speedup_first_epoch_cpu": f.first_epoch_cpu_seconds / b.first_epoch_cpu_seconds,
               "test_eval_speedup": f.test_eval_seconds / b.test_eval_seconds,
               "accuracy_difference_bucketed_minus_fixed": b.test_accuracy - f.test_accuracy,
               "work_ratio_timesteps": work["work_ratio"]}
    equal = summary["accuracy_difference_bucketed_minus_fixed"] >= -0.01  # not worse by more than 1 point
    summary["accuracy_not_worse_than_1pt"] = bool(equal)
    summary["goal_2x_wall_at_equal_accuracy"] = bool(summary["speedup_wall_sec_per_epoch"] >= 2 and equal)
    summary["goal_2x_cpu_at_equal_accuracy"] = bool(summary["speedup_cpu_sec_per_epoch"] >= 2 and equal)
    show = table[["batching", "test_accuracy", "best_val_accuracy", "sec_per_epoch", "cpu_sec_per_epoch",
                  "first_epoch_cpu_seconds", "test_eval_seconds", "wall_seconds", "cpu_seconds"]]
    print()
    print(show.to_string(index=False, float_format=lambda v: f"{v:.4f}" if v < 1 else f"{v:.1f}"))
    print("\n" + "\n".join(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}" for k, v in summary.items()))
    md = markdown(show, {"test_accuracy": ".2%", "best_val_accuracy": ".2%", "sec_per_epoch": ".1f",
                         "cpu_sec_per_epoch": ".1f", "first_epoch_cpu_seconds": ".1f", "test_eval_seconds": ".1f",
                         "wall_seconds": ".0f", "cpu_seconds": ".0f"})
    print("\n" + md)
    save(out_name, args, {
        "settings": {"cell": args.cell, "units": args.units, "embedding_dim": args.embedding_dim, "mask_zero": True,
                     "num_words": args.num_words, "maxlen": args.maxlen, "epochs": args.epochs,
                     "batch_size": args.batch_size, "validation_split": args.validation_split, "seed": args.seed,
                     "backend": args.backend, "bucket_sizes": work["bucket_sizes"], "order": args.order, "train_reviews": len(ytr),
                     "test_reviews": len(yte), "train_length_stats": length_stats(xtr, maxlen=args.maxlen)},
        "work": work, "summary": summary, "table": frame_records(table), "markdown": md, "runs": runs})


if __name__ == "__main__":
    main()
