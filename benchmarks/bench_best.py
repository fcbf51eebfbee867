"""The best recurrent configuration found within a ~10 CPU-minute training budget on the full IMDB data.

Candidates are preset configurations of `imdb_course.models.build_model` trained with `imdb_course.train.train`
(length-bucketed batches + mask_zero, early stopping on validation accuracy with the best weights restored).
The winner is chosen on VALIDATION accuracy; the test accuracy of every candidate is reported as measured.

    python benchmarks/bench_best.py                       # the default candidate(s)
    python benchmarks/bench_best.py --candidates bigru bilstm
    python benchmarks/bench_best.py --quick               # smoke test
"""
import time
from _common import banner, load_data, markdown, parser, save, timer

NAME = "best"

# name -> (data settings, build_model kwargs, train settings)
CANDIDATES = {
    "bigru": (dict(num_words=20_000, maxlen=500),
              dict(cell="gru", units=64, bidirectional=True, embedding_dim=64, dropout=0.3, mask_zero=True,
                   learning_rate=2e-3),
              dict(epochs=3, batch_size=64, validation_split=0.1, bucketed=True)),
    "bilstm": (dict(num_words=20_000, maxlen=500),
               dict(cell="lstm", units=64, bidirectional=True, embedding_dim=64, dropout=0.3, mask_zero=True,
                    learning_rate=2e-3),
               dict(epochs=3, batch_size=64, validation_split=0.1, bucketed=True)),
    "gru_30k": (dict(num_words=30_000, maxlen=500),
                dict(cell="gru", units=64, embedding_dim=64, dropout=0.3, mask_zero=True, learning_rate=2e-3),
                dict(epochs=3, batch_size=64, validation_split=0.1, bucketed=True)),
    "bigru_stacked": (dict(num_words=20_000, maxlen=500),
                      dict(cell="gru", units=[64, 32], bidirectional=True, embedding_dim=64, dropout=0.3,
                           mask_zero=True, learning_rate=2e-3),
                      dict(epochs=3, batch_size=64, validation_split=0.1, bucketed=True)),
    "bigru_long": (dict(num_words=30_000, maxlen=800),
                   dict(cell="gru", units=64, bidirectional=True, embedding_dim=128, dropout=0.5, mask_zero=True,
                        learning_rate=1e-3),
                   dict(epochs=4, batch_size=64, validation_split=0.1, bucketed=True)),
}


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--candidates", nargs="+", default=["bigru"], choices=list(CANDIDATES))
    p.add_argument("--patience", type=int, default=1, help="early-stopping patience (epochs) on val_accuracy")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    banner("best recurrent configuration within ~10 CPU-minutes", args)

    import keras, pandas as pd
    from imdb_course.models import build_model
    from imdb_course.train import set_seed, train

    class CpuSeconds(keras.callbacks.Callback):
        def __init__(self): super().__init__(); self.seconds = []
        def on_epoch_begin(self, epoch, logs=None): self._t = time.process_time()
        def on_epoch_end(self, epoch, logs=None): self.seconds.append(time.process_time() - self._t)

    rows, runs, cache = [], {}, {}
    for name in args.candidates:
        data_kw, build_kw, train_kw = CANDIDATES[name]
        train_kw = dict(train_kw, epochs=1) if args.quick else dict(train_kw)
        key = tuple(sorted(data_kw.items()))
        if key not in cache: cache[key] = load_data(args, **data_kw)[0]
        data = cache[key]
        set_seed(args.seed)
        model = build_model(vocab_size=data_kw["num_words"], name=name, **build_kw)
        stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=args.patience, restore_best_weights=True)
        cpu = CpuSeconds()
        print(f"── {name}: {model.count_params():,} parameters; data {data_kw}; {build_kw}; {train_kw}", flush=True)
        with timer() as t:
            run = train(model, data, seed=args.seed, name=name, callbacks=[stop, cpu], **train_kw)
        train_wall, train_cpu = sum(run.epoch_seconds), sum(cpu.seconds)
        rows.append({"name": name, "test_accuracy": run.test_accuracy, "best_val_accuracy": run.best_val_accuracy,
                     "best_val_epoch": run.best_epoch, "epochs_run": run.epochs, "params": run.params,
                     "train_wall_seconds": train_wall, "train_cpu_seconds": train_cpu,
                     "sec_per_epoch": run.sec_per_epoch, "cpu_sec_per_epoch": train_cpu / max(run.epochs, 1),
                     "total_wall_seconds": t["wall"], "load_average_1min": t["load_average_1min"]})
        runs[name] = {**run.to_dict(), "epoch_cpu_seconds": cpu.seconds, "data": data_kw, "build": build_kw,
                      "train": train_kw}
        print(f"   {name}: test accuracy {run.test_accuracy:.4f} (best val {run.best_val_accuracy:.4f} at epoch "
              f"{run.best_epoch}), training {train_wall:.0f} s wall / {train_cpu:.0f} s CPU, load {t['load_average_1min']}",
              flush=True)
        keras.backend.clear_session()

    table = pd.DataFrame(rows)
    winner = table.sort_values("best_val_accuracy", ascending=False).iloc[0]
    show = table[["name", "test_accuracy", "best_val_accuracy", "best_val_epoch", "epochs_run", "params",
                  "train_wall_seconds", "train_cpu_seconds"]]
    print()
    print(show.to_string(index=False, float_format=lambda v: f"{v:.4f}" if v < 1 else f"{v:.0f}"))
    print(f"\nchosen on validation: {winner['name']}  test accuracy {winner.test_accuracy:.2%}  "
          f"(goal 90.0 %: {'reached' if winner.test_accuracy >= 0.90 else 'not reached'})")
    md = markdown(show, {"test_accuracy": ".2%", "best_val_accuracy": ".2%", "params": ",",
                         "train_wall_seconds": ".0f", "train_cpu_seconds": ".0f"})
    print("\n" + md)
    save(NAME, args, {"settings": {"seed": args.seed, "patience": args.patience, "monitor": "val_accuracy",
                                   "restore_best_weights": True},
                      "candidates": {n: {"data": CANDIDATES[n][0], "build": CANDIDATES[n][1], "train": CANDIDATES[n][2]}
                                     for n in args.candidates},
                      "winner": winner["name"], "winner_test_accuracy": winner.test_accuracy, "goal": 0.90,
                      "goal_reached": bool(winner.test_accuracy >= 0.90),
                      "notes": "train_*_seconds: the epochs only (incl. validation); test evaluation excluded. "
                               "Winner chosen on validation accuracy, not on test.",
                      "table": table.to_dict("records"), "markdown": md, "runs": runs})


if __name__ == "__main__":
    main()
