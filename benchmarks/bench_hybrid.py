"""A recurrent model (BiGRU + max/mean pooling) and its hybrid with NBSVM, on the full IMDB data.

Validation: the last 10 % of the (Keras-shuffled) 25,000 training reviews, for early stopping, NBSVM's C and the
blend weight. Test: the 25,000 test reviews, reported as measured. Every part is trained on the other 22,500.

    python benchmarks/bench_hybrid.py                 # default: pooled BiGRU + NBSVM + blend
    python benchmarks/bench_hybrid.py --quick         # smoke test
"""
import numpy as np
from _common import QUICK_TEST, QUICK_TRAIN, banner, markdown, parser, save, timer

NAME = "hybrid"
DATA = dict(num_words=20_000, maxlen=500)
RNN = dict(embedding_dim=64, units=32, spatial_dropout=0.2, dropout=0.3, learning_rate=2e-3)
TRAIN = dict(epochs=2, batch_size=64, bucketed=True)
VAL_SHARE = 0.1
C_GRID = (0.1, 0.3, 1.0)


def texts_in_load_order(df, seed=113):
    "Text and labels of each split in the order `load_imdb_data(seed=113)` shuffles the word ids into."
    rng, out = np.random.RandomState(seed), {}
    for split in ("train", "test"):  # the same RandomState draws, in the same split order
        part = df[df.split == split]
        order = np.arange(len(part)); rng.shuffle(order)
        out[split] = (part.text.values[order], part.label.values[order])
    return out


def accuracy(p, y): return float(((np.asarray(p) >= .5) == np.asarray(y)).mean())


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--patience", type=int, default=1)
    p.add_argument("--epochs", type=int, default=TRAIN["epochs"])
    p.add_argument("--units", type=int, default=RNN["units"], help="GRU units per direction")
    args = p.parse_args(argv)
    banner("pooled BiGRU + NBSVM hybrid", args)
    import keras, pandas as pd
    from imdb_course.data import load_imdb_data, load_imdb_text
    from imdb_course.hybrid import NBLogistic, blend, build_pooled_rnn, choose_blend_weight, rnn_predict_proba
    from imdb_course.train import set_seed, train

    d = load_imdb_data(source=args.source, verbose=False, **DATA)
    text = texts_in_load_order(load_imdb_text(args.source, verbose=False))
    (xtr, ytr), (xte, yte) = d.train, d.test
    (ttr, ltr), (tte, lte) = text["train"], text["test"]
    assert (ltr == ytr).all() and (lte == yte).all(), "text and word ids are not aligned"
    if args.quick:
        xtr, ytr, ttr = xtr[:QUICK_TRAIN], ytr[:QUICK_TRAIN], ttr[:QUICK_TRAIN]
        xte, yte, tte = xte[:QUICK_TEST], yte[:QUICK_TEST], tte[:QUICK_TEST]
    n_val = int(len(ytr) * VAL_SHARE)
    fit_x, fit_y, fit_t = xtr[:-n_val], ytr[:-n_val], list(ttr[:-n_val])
    val_x, val_y, val_t = xtr[-n_val:], ytr[-n_val:], list(ttr[-n_val:])
    rows, runs = [], {}

    # NBSVM: C chosen on validation
    with timer() as t_nb:
        nbs = {C: NBLogistic(C=C).fit(fit_t, fit_y) for C in C_GRID}
        nb_val = {C: m.predict_proba(val_t)[:, 1] for C, m in nbs.items()}
        nb_val_acc = {C: accuracy(v, val_y) for C, v in nb_val.items()}
        C = max(C_GRID, key=lambda c: nb_val_acc[c])
        p_nb_val, p_nb_test = nb_val[C], nbs[C].predict_proba(list(tte))[:, 1]
    nb_test_acc = accuracy(p_nb_test, yte)
    print(f"NBSVM: val accuracy by C {nb_val_acc}; C={C}: test {nb_test_acc:.4f}; {t_nb['cpu']:.0f} CPU-s "
          f"(all {len(C_GRID)} fits + predictions), {t_nb['wall']:.0f} s", flush=True)
    rows.append({"name": f"NBSVM uni+bigrams (C={C})", "val_accuracy": nb_val_acc[C], "test_accuracy": nb_test_acc,
                 "cpu_seconds": t_nb["cpu"], "wall_seconds": t_nb["wall"]})
    runs["nbsvm"] = {"C_grid": list(C_GRID), "val_accuracy_by_C": {str(k): v for k, v in nb_val_acc.items()},
                     "C": C, "features": int(len(nbs[C].r_))}
    del nbs

    # the recurrent model
    set_seed(args.seed)
    rnn_kw = dict(RNN, units=args.units)
    model = build_pooled_rnn(DATA["num_words"], **rnn_kw)
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=args.patience, restore_best_weights=True)
    train_kw = dict(TRAIN, epochs=1 if args.quick else args.epochs)
    with timer() as t_rnn:
        run = train(model, ((fit_x, fit_y), None), validation_data=(val_x, val_y), seed=args.seed, name="bigru_pool",
                    callbacks=[stop], **train_kw)
    with timer() as t_pred:
        p_rnn_val, p_rnn_test = rnn_predict_proba(model, val_x), rnn_predict_proba(model, xte)
    rnn_val_acc, rnn_test_acc = accuracy(p_rnn_val, val_y), accuracy(p_rnn_test, yte)
    print(f"BiGRU pooled: val {rnn_val_acc:.4f}, test {rnn_test_acc:.4f}; training {t_rnn['cpu']:.0f} CPU-s / "
          f"{t_rnn['wall']:.0f} s; predictions {t_pred['cpu']:.0f} CPU-s", flush=True)
    rows.append({"name": f"BiGRU {args.units} + max/mean pooling", "val_accuracy": rnn_val_acc, "test_accuracy": rnn_test_acc,
                 "cpu_seconds": t_rnn["cpu"], "wall_seconds": t_rnn["wall"]})
    runs["rnn"] = {**run.to_dict(), "params": int(model.count_params()), "data": DATA, "build": rnn_kw,
                   "train": train_kw, "predict_cpu_seconds": t_pred["cpu"]}

    # the blend: weight chosen on validation
    w, blend_val_acc = choose_blend_weight(p_rnn_val, p_nb_val, val_y)
    blend_test_acc = accuracy(blend(p_rnn_test, p_nb_test, w), yte)
    print(f"hybrid: w_rnn={w}: val {blend_val_acc:.4f}, test {blend_test_acc:.4f}", flush=True)
    rows.append({"name": f"hybrid: {w:.2f} × BiGRU + {1 - w:.2f} × NBSVM", "val_accuracy": blend_val_acc,
                 "test_accuracy": blend_test_acc, "cpu_seconds": t_nb["cpu"] + t_rnn["cpu"],
                 "wall_seconds": t_nb["wall"] + t_rnn["wall"]})
    runs["blend"] = {"w_rnn": w, "val_accuracy_by_w": {f"{g:.2f}": accuracy(blend(p_rnn_val, p_nb_val, g), val_y)
                                                       for g in np.linspace(0, 1, 21)},
                     "test_accuracy_by_w": {f"{g:.2f}": accuracy(blend(p_rnn_test, p_nb_test, g), yte)
                                            for g in np.linspace(0, 1, 21)}}
    table = pd.DataFrame(rows)
    md = markdown(table, {"val_accuracy": ".2%", "test_accuracy": ".2%", "cpu_seconds": ".0f", "wall_seconds": ".0f"})
    print("\n" + md)
    save(NAME, args, {"settings": {"seed": args.seed, "val_share": VAL_SHARE, "data": DATA, "rnn": rnn_kw,
                                   "train": train_kw, "C_grid": list(C_GRID), "patience": args.patience},
                      "notes": "cpu/wall seconds: training only (NBSVM: all C fits + their val/test predictions; "
                               "hybrid: the sum of both); the RNN's prediction time is in runs.rnn.predict_cpu_seconds. "
                               "C, w and early stopping chosen on validation, never on test; test_accuracy_by_w is "
                               "for the record only.",
                      "table": table.to_dict("records"), "markdown": md, "runs": runs})


if __name__ == "__main__":
    main()
