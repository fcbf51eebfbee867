"""The best recurrent configuration found within a ~10 CPU-minute training budget on the full IMDB data.

Candidates are preset configurations of `imdb_course.models.build_model` (read at the last step; early stopping on
validation accuracy with the best weights restored) or of `imdb_course.hybrid.build_pooled_rnn` (max/mean pooling
over all steps, optionally hashed bigram embeddings; a fixed number of epochs, the validation and test reviews
predicted after each, and the epoch / run of epochs to average chosen on validation: `EpochPredictions`).
All are trained with `imdb_course.train.train` (length-bucketed batches + mask_zero) on the first 90 % of the
training reviews; validation = the last 10 % (the same split as bench_hybrid.py).
The winner is chosen on VALIDATION accuracy; the test accuracy of every candidate is reported as measured.
The backend is Keras' (`KERAS_BACKEND=jax python benchmarks/bench_best.py ...` for JAX; default TensorFlow).

    python benchmarks/bench_best.py                       # the default candidate(s)
    python benchmarks/bench_best.py --candidates bigru bilstm
    KERAS_BACKEND=jax python benchmarks/bench_best.py --candidates bigru_pool_bigrams
    python benchmarks/bench_best.py --quick               # smoke test
"""
import time
import numpy as np
from _common import RESULTS, banner, load_data, markdown, parser, save, timer
from imdb_course.hybrid import BEST_POOLED_RNN as BEST  # (imports Keras: KERAS_BACKEND is read from here on)

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
    # imdb_course.hybrid.build_pooled_rnn ("pooled": True): fixed epochs, per-epoch predictions averaged
    "bigru_pool": (dict(num_words=20_000, maxlen=500),
                   dict(pooled=True, units=64, embedding_dim=64, spatial_dropout=0.2, dropout=0.3, learning_rate=2e-3),
                   dict(epochs=3, batch_size=64, validation_split=0.1, bucketed=True)),
    "bigru_pool_bigrams": (dict(num_words=20_000, maxlen=500),
                           dict(pooled=True, units=64, embedding_dim=64, spatial_dropout=0.2, dropout=0.3,
                                learning_rate=2e-3, bigram_buckets=200_000),
                           dict(epochs=4, batch_size=64, validation_split=0.1, bucketed=True)),
    # the chosen one, as shipped in imdb_course.hybrid.BEST_POOLED_RNN (30,000 words, <= 800 ids, 300,000 buckets)
    "bigru_pool_bigrams_long": (BEST["data"], dict(pooled=True, **BEST["build"]), dict(BEST["train"], validation_split=0.1)),
}
# issue 14, second round: the chosen configuration with a per-epoch learning-rate schedule, snapshots every half
# epoch (predictions and weights kept; prediction averages and weight averages both chosen on validation),
# label smoothing, stronger spatial dropout, longer reviews. Optional 4th element: options (see `OPTIONS`).
_B = dict(pooled=True, **BEST["build"])
CANDIDATES.update({
    "pbl_sched": (BEST["data"], _B, dict(BEST["train"], epochs=3, validation_split=0.1),
                  dict(lr_schedule=[2e-3, 5e-4, 1.25e-4], snapshots_per_epoch=2)),
    "pbl_sched_ls": (BEST["data"], _B, dict(BEST["train"], epochs=3, validation_split=0.1),
                     dict(lr_schedule=[2e-3, 5e-4, 1.25e-4], snapshots_per_epoch=2, label_smoothing=0.1)),
    "pbl_sched_sd4": (BEST["data"], dict(_B, spatial_dropout=0.4, dropout=0.5),
                      dict(BEST["train"], epochs=3, validation_split=0.1),
                      dict(lr_schedule=[2e-3, 5e-4, 1.25e-4], snapshots_per_epoch=2)),
    "pbl_sched_1000": (dict(BEST["data"], maxlen=1000), _B, dict(BEST["train"], epochs=3, validation_split=0.1),
                       dict(lr_schedule=[2e-3, 5e-4, 1.25e-4], snapshots_per_epoch=2)),
    # round 3: the scheduled model stopped after 2 epochs (snapshots 1, 1.5, 2), one member of a seed ensemble
    # (`--seed 43`; members combined on validation by benchmarks/bench_ensemble.py)
    "pbl_sched_e2": (BEST["data"], _B, dict(BEST["train"], epochs=2, validation_split=0.1),
                     dict(lr_schedule=[2e-3, 5e-4], snapshots_per_epoch=2)),
})
OPTIONS = {"lr_schedule": "learning rate of each epoch (keras.callbacks.LearningRateScheduler)",
           "snapshots_per_epoch": "> 1: also predict (and keep the weights) inside each epoch after the first",
           "label_smoothing": "BinaryCrossentropy(label_smoothing=...)"}
import keras  # noqa: E402  (already imported by imdb_course.hybrid)


class Snapshots(keras.callbacks.Callback):
    "Predictions of named review sets and a copy of the weights after each epoch and, from epoch 2 on, every 1/`per_epoch` epoch."
    def __init__(self, sets, per_epoch=2):
        super().__init__()
        self.sets, self.per_epoch = sets, per_epoch
        self.predictions, self.weights, self.labels = {k: [] for k in sets}, [], []
        self.cpu_seconds = self.mid_epoch_cpu_seconds = 0.0
    def on_epoch_begin(self, epoch, logs=None):
        steps = self.params.get("steps") or 0
        self._epoch = epoch
        self._marks = {round(steps * j / self.per_epoch): j for j in range(1, self.per_epoch)} if epoch >= 1 and steps else {}
    def on_train_batch_end(self, batch, logs=None):
        j = self._marks.get(batch + 1)
        if j is not None: self.mid_epoch_cpu_seconds += self._snap(round(self._epoch + j / self.per_epoch, 3))
    def on_epoch_end(self, epoch, logs=None): self._snap(epoch + 1)
    def _snap(self, label):
        from imdb_course.hybrid import rnn_predict_proba
        t = time.process_time()
        if hasattr(self.model, "jax_state_sync"): self.model.jax_state_sync()  # JAX: the weights live in the loop's state
        for k, x in self.sets.items(): self.predictions[k].append(rnn_predict_proba(self.model, x))
        self.weights.append([np.array(w) for w in self.model.get_weights()])
        self.labels.append(label)
        dt_ = time.process_time() - t
        self.cpu_seconds += dt_
        return dt_


MAX_AVERAGE = 3  # pooled candidates: average at most the last 3 epochs' predictions
MAX_SNAPSHOTS = 4  # snapshot candidates: average at most the last 4 snapshots (predictions or weights)


def _acc(p_, y_): return float(((np.asarray(p_) >= .5) == np.asarray(y_)).mean())


def _snapshot_run(model, data, train_kw, opt, name, args, cpu, sched):
    "Train with `Snapshots` (every 1/k epoch from epoch 2 on); choose on validation among prediction and weight averages."
    import keras
    from imdb_course.hybrid import rnn_predict_proba
    from imdb_course.train import train
    (xtr, ytr), (xte, yte) = data
    n_val = int(len(ytr) * train_kw["validation_split"])
    x_val, y_val = xtr[-n_val:], ytr[-n_val:]
    snaps = Snapshots({"val": x_val, "test": xte}, opt["snapshots_per_epoch"])
    with timer() as t:
        run = train(model, ((xtr[:-n_val], ytr[:-n_val]), None), seed=args.seed, name=name,
                    callbacks=[*sched, cpu, snaps], **dict(train_kw, validation_split=0.0))
    labels, P = snaps.labels, snaps.predictions
    per_snapshot = [{"epoch": l, "val_accuracy": _acc(v, y_val), "test_accuracy": _acc(te, yte)}
                    for l, v, te in zip(labels, P["val"], P["test"])]
    print(f"   per snapshot: {per_snapshot}", flush=True)
    choices = {}  # (kind, end index, count) -> val accuracy
    for i in range(len(labels)):
        for k in range(1, min(MAX_SNAPSHOTS, i + 1) + 1):
            choices[("predictions", i, k)] = _acc(np.mean(P["val"][i - k + 1:i + 1], axis=0), y_val)
    t0 = time.process_time()
    final = model.get_weights()
    weight_avg_test = {}
    for i in range(len(labels)):
        for k in range(2, min(MAX_SNAPSHOTS, i + 1) + 1):
            model.set_weights([np.mean(ws, axis=0) for ws in zip(*snaps.weights[i - k + 1:i + 1])])
            choices[("weights", i, k)] = _acc(rnn_predict_proba(model, x_val), y_val)
    best = max(choices.items(), key=lambda kv: (kv[1], -kv[0][2], kv[0][0] == "predictions"))  # ties: fewer, predictions
    (kind, i, k), val_acc = best
    best_w = max(((key, v) for key, v in choices.items() if key[0] == "weights"), key=lambda kv: kv[1], default=None)
    for (kd, i_, k_), _v in [best_w] if best_w else []:  # the best weight average's test accuracy, for the record
        model.set_weights([np.mean(ws, axis=0) for ws in zip(*snaps.weights[i_ - k_ + 1:i_ + 1])])
        weight_avg_test[f"{labels[i_ - k_ + 1]}-{labels[i_]}"] = _acc(rnn_predict_proba(model, xte), yte)
    if kind == "weights":
        model.set_weights([np.mean(ws, axis=0) for ws in zip(*snaps.weights[i - k + 1:i + 1])])
        p_val, p_test = rnn_predict_proba(model, x_val), rnn_predict_proba(model, xte)
    else:
        p_val, p_test = np.mean(P["val"][i - k + 1:i + 1], axis=0), np.mean(P["test"][i - k + 1:i + 1], axis=0)
    model.set_weights(final)
    avg_cpu = time.process_time() - t0
    test_acc = _acc(p_test, yte)
    span = f"{labels[i - k + 1]}-{labels[i]}" if k > 1 else f"{labels[i]}"
    chosen = f"{span} {kind[:-1]} avg" if k > 1 else span
    table = {f"{kd}:{labels[i_ - k_ + 1]}-{labels[i_]}": v for (kd, i_, k_), v in choices.items()}
    pred_test = {f"predictions:{labels[i_ - k_ + 1]}-{labels[i_]}": _acc(np.mean(P["test"][i_ - k_ + 1:i_ + 1], axis=0), yte)
                 for (kd, i_, k_) in choices if kd == "predictions"}
    seed = f"_s{args.seed}" if args.seed != 42 else ""
    out = RESULTS/"predictions"/f"best_{name}{seed}{'_quick' if args.quick else ''}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    # bench_hybrid --rnn-from reads val/test/epochs/chosen: store the chosen average as the only "epoch"
    np.savez_compressed(out, val=np.array([p_val]), test=np.array([p_test]), epochs=np.array([1]), y_val=y_val,
                        y_test=yte, chosen=np.array([1, 1]), snapshot_val=np.array(P["val"]),
                        snapshot_test=np.array(P["test"]), snapshot_labels=np.array(labels))
    print(f"   chosen on validation: {chosen} (val {val_acc:.4f}, test {test_acc:.4f}); best weight average: "
          f"{best_w and (best_w[1], weight_avg_test)}", flush=True)
    extra = {"per_snapshot": per_snapshot, "val_accuracy_of_averages": table, "test_accuracy_of_prediction_averages": pred_test,
             "best_weight_average_test_accuracy": weight_avg_test, "chosen": chosen, "chosen_epoch": 1, "chosen_last": 1,
             "predict_cpu_seconds": snaps.cpu_seconds, "mid_epoch_predict_cpu_seconds": snaps.mid_epoch_cpu_seconds,
             "averaging_cpu_seconds": avg_cpu, "predictions_file": str(out)}
    return extra, (test_acc, val_acc, chosen), run, t


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--candidates", nargs="+", default=["bigru"], choices=list(CANDIDATES))
    p.add_argument("--patience", type=int, default=1, help="early-stopping patience (epochs) on val_accuracy")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    banner("best recurrent configuration within ~10 CPU-minutes", args)

    import keras, pandas as pd
    from imdb_course.hybrid import EpochPredictions, build_pooled_rnn
    from imdb_course.models import build_model
    from imdb_course.train import set_seed, train
    backend = keras.backend.backend()

    class CpuSeconds(keras.callbacks.Callback):
        def __init__(self): super().__init__(); self.seconds = []
        def on_epoch_begin(self, epoch, logs=None): self._t = time.process_time()
        def on_epoch_end(self, epoch, logs=None): self.seconds.append(time.process_time() - self._t)

    rows, runs, cache = [], {}, {}
    for name in args.candidates:
        data_kw, build_kw, train_kw, *opt = CANDIDATES[name]
        opt = opt[0] if opt else {}
        quick_epochs = 2 if opt.get("snapshots_per_epoch", 1) > 1 else 1  # snapshots inside epochs start at epoch 2
        train_kw = dict(train_kw, epochs=quick_epochs) if args.quick else dict(train_kw)
        if set(opt) - set(OPTIONS): raise ValueError(f"{name}: unknown options {set(opt) - set(OPTIONS)}; known: {OPTIONS}")
        key = tuple(sorted(data_kw.items()))
        if key not in cache: cache[key] = load_data(args, **data_kw)[0]
        data = cache[key]
        set_seed(args.seed)
        build_kw = dict(build_kw)
        pooled = build_kw.pop("pooled", False)
        if pooled: model = build_pooled_rnn(data_kw["num_words"], name=name, **build_kw)
        else: model = build_model(vocab_size=data_kw["num_words"], name=name, **build_kw)
        if opt.get("label_smoothing"):
            from imdb_course.models import make_optimizer
            model.compile(optimizer=make_optimizer("adam", build_kw["learning_rate"]), metrics=["accuracy"],
                          loss=keras.losses.BinaryCrossentropy(label_smoothing=opt["label_smoothing"]))
        sched = []
        if opt.get("lr_schedule"):
            lrs = list(opt["lr_schedule"])
            sched = [keras.callbacks.LearningRateScheduler(lambda e, lr, lrs=lrs: lrs[min(e, len(lrs) - 1)])]
        cpu = CpuSeconds()
        print(f"── {name} [{backend}]: {model.count_params():,} parameters; data {data_kw}; {build_kw}; {train_kw}",
              flush=True)
        extra = {}
        if pooled and opt.get("snapshots_per_epoch", 1) > 1:
            extra, (test_acc, best_val, best_epoch), run, t = _snapshot_run(
                model, data, train_kw, opt, name, args, cpu, sched)
        elif pooled:  # train on the first 90 %, predict validation + test after every epoch, average chosen on validation
            (xtr, ytr), (xte, yte) = data
            n_val = int(len(ytr) * train_kw["validation_split"])
            x_val, y_val = xtr[-n_val:], ytr[-n_val:]
            preds = EpochPredictions({"val": x_val, "test": xte})
            fit_kw = dict(train_kw, validation_split=0.0)
            with timer() as t:  # callbacks run in order: the epoch's CPU seconds stop before its predictions
                run = train(model, ((xtr[:-n_val], ytr[:-n_val]), None), seed=args.seed, name=name,
                            callbacks=[*sched, cpu, preds], **fit_kw)
            acc = lambda p_, y_: float(((p_ >= .5) == np.asarray(y_)).mean())
            epoch, last, val_acc = preds.choose("val", y_val, MAX_AVERAGE)
            test_acc = acc(preds.mean("test", epoch, last), yte)
            per_epoch = [{"epoch": e, "val_accuracy": acc(v, y_val), "test_accuracy": acc(te, yte)}
                         for e, v, te in zip(preds.epochs, preds.predictions["val"], preds.predictions["test"])]
            averages = {f"{e}/{k}": {"val_accuracy": acc(preds.mean("val", e, k), y_val),
                                     "test_accuracy": acc(preds.mean("test", e, k), yte)}
                        for e in preds.epochs for k in range(1, MAX_AVERAGE + 1) if e - k + 1 >= preds.epochs[0]}
            best_epoch, best_val = f"{epoch}" if last == 1 else f"{epoch - last + 1}-{epoch} avg", val_acc
            out = RESULTS/"predictions"/f"best_{name}{'_quick' if args.quick else ''}.npz"
            out.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(out, val=np.array(preds.predictions["val"]), test=np.array(preds.predictions["test"]),
                                epochs=np.array(preds.epochs), y_val=y_val, y_test=yte, chosen=np.array([epoch, last]))
            extra = {"per_epoch": per_epoch, "averages_epoch/last": averages, "chosen_epoch": epoch,
                     "chosen_last": last, "predict_cpu_seconds": preds.cpu_seconds, "predictions_file": str(out)}
            print(f"   per epoch: {per_epoch}", flush=True)
        else:
            stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=args.patience, restore_best_weights=True)
            with timer() as t:
                run = train(model, data, seed=args.seed, name=name, callbacks=[stop, cpu], **train_kw)
            test_acc, best_val, best_epoch = run.test_accuracy, run.best_val_accuracy, str(run.best_epoch)
        train_wall, train_cpu = sum(run.epoch_seconds), sum(cpu.seconds) - extra.get("mid_epoch_predict_cpu_seconds", 0.0)
        rows.append({"name": name, "backend": backend, "test_accuracy": test_acc, "best_val_accuracy": best_val,
                     "best_val_epoch": best_epoch, "epochs_run": run.epochs, "params": run.params,
                     "train_wall_seconds": train_wall, "train_cpu_seconds": train_cpu,
                     "sec_per_epoch": run.sec_per_epoch, "cpu_sec_per_epoch": train_cpu / max(run.epochs, 1),
                     "total_wall_seconds": t["wall"], "load_average_1min": t["load_average_1min"]})
        runs[name] = {**run.to_dict(), "epoch_cpu_seconds": cpu.seconds, "data": data_kw, "build": CANDIDATES[name][1],
                      "train": train_kw, "options": opt, "backend": backend, **extra}
        print(f"   {name}: test accuracy {test_acc:.4f} (val {best_val:.4f}, epoch(s) {best_epoch}), "
              f"training {train_wall:.0f} s wall / {train_cpu:.0f} s CPU, load {t['load_average_1min']}", flush=True)
        keras.backend.clear_session()

    table = pd.DataFrame(rows)
    winner = table.sort_values("best_val_accuracy", ascending=False).iloc[0]
    show = table[["name", "backend", "test_accuracy", "best_val_accuracy", "best_val_epoch", "epochs_run", "params",
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
                      "candidates": {n: {"data": CANDIDATES[n][0], "build": CANDIDATES[n][1], "train": CANDIDATES[n][2],
                                         "options": (CANDIDATES[n][3:] or [{}])[0]}
                                     for n in args.candidates},
                      "winner": winner["name"], "winner_test_accuracy": winner.test_accuracy, "goal": 0.90,
                      "goal_reached": bool(winner.test_accuracy >= 0.90),
                      "notes": "train_*_seconds: the epochs only (incl. validation for build_model candidates); test "
                               "evaluation and the pooled candidates' per-epoch predictions (runs.*.predict_cpu_seconds) "
                               "excluded. Winner chosen on validation accuracy, not on test; pooled candidates: "
                               "the epoch / average of the last epochs chosen on validation.",
                      "table": table.to_dict("records"), "markdown": md, "runs": runs})


if __name__ == "__main__":
    main()
