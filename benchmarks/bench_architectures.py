"""The six classic architectures (imdb_course.models.ARCHITECTURES) at one shared budget on the full IMDB data:
test accuracy, seconds per epoch and parameters.

    python benchmarks/bench_architectures.py            # full run (~25-40 min on 2 cores)
    python benchmarks/bench_architectures.py --quick    # smoke test (2,000 reviews, 1 epoch)
"""
from _common import banner, frame_records, load_data, markdown, parser, save, timer

NAME = "architectures"


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--archs", nargs="+", default=None, help="subset of ARCHITECTURES (default: all six)")
    p.add_argument("--num-words", type=int, default=10_000)
    p.add_argument("--maxlen", type=int, default=200)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--embedding-dim", type=int, default=32)
    p.add_argument("--validation-split", type=float, default=0.2)
    p.add_argument("--no-mask", action="store_true", help="build without mask_zero (the padding is read as words)")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    if args.quick: args.epochs = 1
    banner("six recurrent architectures, one budget", args)

    import pandas as pd
    from imdb_course.data import pad
    from imdb_course.models import ARCHITECTURES
    from imdb_course.train import compare
    archs = args.archs or list(ARCHITECTURES)
    (xtr, ytr), (xte, yte) = load_data(args, num_words=args.num_words)[0]
    data = ((pad(xtr, maxlen=args.maxlen), ytr), (pad(xte, maxlen=args.maxlen), yte))
    build = dict(units=args.units, embedding_dim=args.embedding_dim, vocab_size=args.num_words,
                 mask_zero=not args.no_mask, maxlen=args.maxlen)
    print(f"# {len(ytr):,} train ({args.validation_split:.0%} held out for validation) / {len(yte):,} test reviews, "
          f"num_words={args.num_words}, maxlen={args.maxlen} (post-padded), epochs={args.epochs}, "
          f"batch={args.batch_size}, {build}", flush=True)

    rows, runs = [], {}
    for arch in archs:  # one compare call per architecture, so each gets its own CPU-time measurement
        with timer() as t:
            df = compare([arch], data, epochs=args.epochs, batch_size=args.batch_size,
                         validation_split=args.validation_split, seed=args.seed, **build)
        run = df.attrs["runs"][df.name[0]]
        row = df.iloc[0].to_dict()
        row.update(first_epoch_seconds=run.epoch_seconds[0], eval_seconds=run.seconds - sum(run.epoch_seconds),
                   wall_seconds=t["wall"], cpu_seconds=t["cpu"], load_average_1min=t["load_average_1min"])
        rows.append(row); runs[run.name] = run.to_dict()
        print(f"   {run.name}: test accuracy {run.test_accuracy:.4f}, {run.sec_per_epoch:.1f} s/epoch, "
              f"{run.params:,} params, {t['wall']:.0f} s wall / {t['cpu']:.0f} s CPU, load {t['load_average_1min']}", flush=True)

    table = pd.DataFrame(rows).sort_values("test_accuracy", ascending=False).reset_index(drop=True)
    show = table[["name", "test_accuracy", "best_val_accuracy", "best_val_epoch", "sec_per_epoch", "params",
                  "wall_seconds", "cpu_seconds"]]
    print()
    print(show.to_string(index=False, float_format=lambda v: f"{v:.4f}" if v < 1 else f"{v:.1f}"))
    md = markdown(show, {"test_accuracy": ".2%", "best_val_accuracy": ".2%", "sec_per_epoch": ".1f",
                         "params": ",", "wall_seconds": ".0f", "cpu_seconds": ".0f"})
    print("\n" + md)
    save(NAME + ("_nomask" if args.no_mask else ""), args, {
        "settings": {"num_words": args.num_words, "maxlen": args.maxlen, "padding": "post", "epochs": args.epochs,
                     "batch_size": args.batch_size, "validation_split": args.validation_split, "seed": args.seed,
                     "train_reviews": len(ytr), "test_reviews": len(yte), "build": build, "optimizer": "adam 1e-3"},
        "notes": "sec_per_epoch: median epoch wall time incl. validation (train.Run.sec_per_epoch); cpu_seconds: "
                 "process CPU time of the whole compare() call (build, fit, validation, test evaluation), less "
                 "sensitive than wall time to other jobs on the shared machine.",
        "table": frame_records(table), "markdown": md, "runs": runs})


if __name__ == "__main__":
    main()
