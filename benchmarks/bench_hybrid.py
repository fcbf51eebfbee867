"""A recurrent model (BiGRU + max/mean pooling) and its hybrid with NBSVM, on the full IMDB data.

Validation: the last 10 % of the (Keras-shuffled) 25,000 training reviews, for early stopping, NBSVM's C and the
blend weight. Test: the 25,000 test reviews, reported as measured. Every part is trained on the other 22,500.

Two blends: `blend` with the weight chosen on validation, and `LogitBlend` (logistic regression on both
models' validation log-odds); the one with the better 5-fold cross-validated accuracy on the validation reviews
is the hybrid (both are reported). The RNN's predictions are the average of the run of epochs chosen on
validation (`EpochPredictions`; the last epoch alone is one of the choices).

    python benchmarks/bench_hybrid.py                 # default: pooled BiGRU + NBSVM + blend
    KERAS_BACKEND=jax python benchmarks/bench_hybrid.py --bigrams 200000 --epochs 4 --units 64
    python benchmarks/bench_hybrid.py --rnn-from benchmarks/results/best_bigru_pool_bigrams.json  # reuse a bench_best run
    python benchmarks/bench_hybrid.py --quick         # smoke test
"""
import json
from pathlib import Path
import numpy as np
from _common import QUICK_TEST, QUICK_TRAIN, ROOT, banner, markdown, parser, save, timer

NAME = "hybrid"
DATA = dict(num_words=20_000, maxlen=500)
RNN = dict(embedding_dim=64, units=32, spatial_dropout=0.2, dropout=0.3, learning_rate=2e-3)
TRAIN = dict(epochs=2, batch_size=64, bucketed=True)
VAL_SHARE = 0.1
C_GRID = (0.1, 0.3, 1.0)
MAX_AVERAGE = 3  # average at most the last 3 epochs' predictions
CV_FOLDS = 5


def texts_in_load_order(df, seed=113):
    "Text and labels of each split in the order `load_imdb_data(seed=113)` shuffles the word ids into."
    rng, out = np.random.RandomState(seed), {}
    for split in ("train", "test"):  # the same RandomState draws, in the same split order
        part = df[df.split == split]
        order = np.arange(len(part)); rng.shuffle(order)
        out[split] = (part.text.values[order], part.label.values[order])
    return out


def accuracy(p, y): return float(((np.asarray(p) >= .5) == np.asarray(y)).mean())


def weight_cv_accuracy(p_rnn, p_nb, y, folds=CV_FOLDS, seed=0):
    "Cross-validated accuracy of `choose_blend_weight` on the validation reviews (w chosen on the other folds)."
    from sklearn.model_selection import StratifiedKFold
    from imdb_course.hybrid import blend, choose_blend_weight
    p_rnn, p_nb, y = map(np.asarray, (p_rnn, p_nb, y))
    right = np.zeros(len(y), bool)
    for fit, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(p_rnn.reshape(-1, 1), y):
        w, _ = choose_blend_weight(p_rnn[fit], p_nb[fit], y[fit])
        right[held] = (blend(p_rnn[held], p_nb[held], w) >= .5) == y[held]
    return float(right.mean())


def rnn_from_best(path, val_y, test_y):
    "Validation/test P(positive) of a pooled bench_best.py run (its chosen average of epochs) and its record."
    doc = json.loads(open(path).read())
    (name, run), = doc["runs"].items()
    f = np.load(ROOT/"benchmarks"/"results"/"predictions"/Path(run["predictions_file"]).name)
    if len(f["y_val"]) != len(val_y) or (f["y_val"] != val_y).any() or (f["y_test"] != test_y).any():
        raise SystemExit(f"{path}: its predictions are of other reviews than this run's (a --quick run, or other "
                         "data?); re-run bench_best.py on the same data and split, or train here without --rnn-from")
    epochs, (e, k) = list(f["epochs"]), f["chosen"]
    i = epochs.index(e)
    return f["val"][i - k + 1:i + 1].mean(0), f["test"][i - k + 1:i + 1].mean(0), name, run, doc


def nb_interpolated(m, beta):
    "A fitted NBLogistic with Wang & Manning's interpolation `beta` (`NBLogistic.with_beta`; beta = 1: `m`)."
    return m if beta == 1 else m.with_beta(beta)


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--epochs", type=int, default=TRAIN["epochs"])
    p.add_argument("--units", type=int, default=RNN["units"], help="GRU units per direction")
    p.add_argument("--bigrams", type=int, default=0, help="hashed bigram buckets of the RNN (0: words only)")
    p.add_argument("--rnn-from", default=None, help="a bench_best.py result JSON of a pooled candidate: use its "
                   "validation/test predictions instead of training an RNN here")
    p.add_argument("--nb-beta", nargs="+", type=float, default=[1.0], help="NBSVM interpolation betas to choose "
                   "from on validation (Wang & Manning: w = (1 - beta) * mean|w| + beta * w; 1 = plain, their 0.25)")
    p.add_argument("--nb-refit", action="store_true", help="after choosing C (and beta) on validation, refit NBSVM on "
                   "all training reviews for the test predictions (the blend is still fit on the 22,500-review fit's "
                   "validation predictions)")
    p.add_argument("--nb-cache", default=None, help="an .npz file: NBSVM's validation/test predictions are saved there "
                   "and reused by later runs with the same NBSVM options (its CPU seconds are the first run's)")
    args = p.parse_args(argv)
    banner("pooled BiGRU + NBSVM hybrid", args)
    import keras, pandas as pd
    from imdb_course.data import load_imdb_data, load_imdb_text
    from imdb_course.hybrid import (EpochPredictions, LogitBlend, NBLogistic, blend, build_pooled_rnn,
                                    choose_blend_weight)
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

    # NBSVM: C (and the interpolation beta) chosen on validation; --nb-cache reuses an earlier run's NBSVM
    nb_key = json.dumps({"C_grid": list(C_GRID), "beta": list(args.nb_beta), "refit": bool(args.nb_refit),
                         "quick": bool(args.quick), "n": [len(fit_y), len(val_y), len(yte)]})
    cache = Path(args.nb_cache) if args.nb_cache else None
    if cache and cache.exists() and str(np.load(cache)["key"]) == nb_key:
        z = np.load(cache)
        p_nb_val, p_nb_test = z["val"], z["test"]
        nb_row, runs["nbsvm"] = json.loads(str(z["row"])), json.loads(str(z["record"]))
        nb_row["name"] += " [cached]"
        rows.append(nb_row)
        nb_test_acc = nb_row["test_accuracy"]
        t_nb = {"cpu": nb_row["cpu_seconds"], "wall": nb_row["wall_seconds"]}
        print(f"NBSVM from {cache}: {nb_row}", flush=True)
    else:
        # NBSVM: C (and the interpolation beta) chosen on validation
        with timer() as t_nb:
            nbs = {C: NBLogistic(C=C).fit(fit_t, fit_y) for C in C_GRID}
            nb_val = {(C, b): nb_interpolated(m, b).predict_proba(val_t)[:, 1] for C, m in nbs.items() for b in args.nb_beta}
            nb_val_acc = {key: accuracy(v, val_y) for key, v in nb_val.items()}
            C, beta = max(nb_val, key=lambda key: (nb_val_acc[key], key[1]))  # ties: the larger beta (1 = plain)
            p_nb_val = nb_val[(C, beta)]
            final_nb = nbs[C]
            if args.nb_refit:  # C and beta chosen on validation; then one fit on all training reviews for the test set
                final_nb = NBLogistic(C=C).fit(fit_t + val_t, np.concatenate([fit_y, val_y]))  # beta applied below
            p_nb_test = nb_interpolated(final_nb, beta).predict_proba(list(tte))[:, 1]
        nb_test_acc = accuracy(p_nb_test, yte)
        print(f"NBSVM: val accuracy by (C, beta) {nb_val_acc}; C={C}, beta={beta}{' refit on all' if args.nb_refit else ''}: "
              f"test {nb_test_acc:.4f}; {t_nb['cpu']:.0f} CPU-s (all {len(C_GRID)} fits{' + the refit' if args.nb_refit else ''}"
              f" + predictions), {t_nb['wall']:.0f} s", flush=True)
        nb_label = (f"NBSVM uni+bigrams (C={C}{f', beta={beta}' if beta != 1 else ''}"
                    f"{', refit on all 25,000' if args.nb_refit else ''})")
        rows.append({"name": nb_label, "val_accuracy": nb_val_acc[(C, beta)], "val_cv_accuracy": None,
                     "test_accuracy": nb_test_acc,
                     "cpu_seconds": t_nb["cpu"], "wall_seconds": t_nb["wall"]})
        runs["nbsvm"] = {"C_grid": list(C_GRID), "beta_grid": list(args.nb_beta), "refit_on_all": bool(args.nb_refit),
                         "val_accuracy_by_C_beta": {f"{k[0]}/{k[1]}": v for k, v in nb_val_acc.items()},
                         "C": C, "beta": beta, "features": int(len(final_nb.r_))}
        if args.nb_refit or len(args.nb_beta) > 1:  # for the record: the 22,500-review fit's test accuracy, beta = 1
            runs["nbsvm"]["test_accuracy_fit_22500_beta1"] = accuracy(nbs[C].predict_proba(list(tte))[:, 1], yte)
        del nbs
        if cache:
            np.savez_compressed(cache, key=nb_key, val=p_nb_val, test=p_nb_test, row=json.dumps(rows[-1]),
                                record=json.dumps(runs["nbsvm"]))

    # the recurrent model: trained here, or the predictions of a bench_best.py run
    if args.rnn_from:
        p_rnn_val, p_rnn_test, rnn_name, best_run, best_doc = rnn_from_best(args.rnn_from, val_y, yte)
        rnn_cpu = sum(best_run["epoch_cpu_seconds"]) - best_run.get("mid_epoch_predict_cpu_seconds", 0.0)  # snapshots
        rnn_wall = sum(best_run["epoch_seconds"])
        rnn_label = f"{rnn_name} (bench_best, {best_run['backend']}, " + (f"snapshots {best_run['chosen']})" if "chosen" in best_run else
                     f"epochs {best_run['chosen_epoch'] - best_run['chosen_last'] + 1}-{best_run['chosen_epoch']})")
        runs["rnn"] = {"from": args.rnn_from, "name": rnn_name, "backend": best_run["backend"],
                       "chosen_epoch": best_run["chosen_epoch"], "chosen_last": best_run["chosen_last"],
                       "build": best_run["build"], "data": best_run["data"], "train": best_run["train"]}
    else:
        set_seed(args.seed)
        rnn_kw = dict(RNN, units=args.units, bigram_buckets=args.bigrams)
        model = build_pooled_rnn(DATA["num_words"], **rnn_kw)
        preds = EpochPredictions({"val": val_x, "test": xte})
        train_kw = dict(TRAIN, epochs=1 if args.quick else args.epochs)
        with timer() as t_rnn:
            run = train(model, ((fit_x, fit_y), None), validation_split=0.0, seed=args.seed, name="bigru_pool",
                        callbacks=[preds], **train_kw)
        e, k, _ = preds.choose("val", val_y, MAX_AVERAGE)
        p_rnn_val, p_rnn_test = preds.mean("val", e, k), preds.mean("test", e, k)
        rnn_cpu, rnn_wall = t_rnn["cpu"] - preds.cpu_seconds, t_rnn["wall"]
        rnn_label = (f"BiGRU {args.units} + max/mean pooling{f' + {args.bigrams:,} hashed bigrams' if args.bigrams else ''}"
                     f" ({keras.backend.backend()}, epochs {e - k + 1}-{e})")
        runs["rnn"] = {**run.to_dict(), "params": int(model.count_params()), "data": DATA, "build": rnn_kw,
                       "train": train_kw, "backend": keras.backend.backend(), "chosen_epoch": e, "chosen_last": k,
                       "per_epoch": [{"epoch": ep_, "val_accuracy": accuracy(v, val_y), "test_accuracy": accuracy(t_, yte)}
                                     for ep_, v, t_ in zip(preds.epochs, preds.predictions["val"], preds.predictions["test"])],
                       "predict_cpu_seconds": preds.cpu_seconds}
    rnn_val_acc, rnn_test_acc = accuracy(p_rnn_val, val_y), accuracy(p_rnn_test, yte)
    print(f"RNN {rnn_label}: val {rnn_val_acc:.4f}, test {rnn_test_acc:.4f}; training {rnn_cpu:.0f} CPU-s / "
          f"{rnn_wall:.0f} s", flush=True)
    rows.append({"name": rnn_label, "val_accuracy": rnn_val_acc, "val_cv_accuracy": None, "test_accuracy": rnn_test_acc,
                 "cpu_seconds": rnn_cpu, "wall_seconds": rnn_wall})

    # the blends: weight (or logistic regression) fit on validation; the hybrid = the better CV accuracy there
    w, blend_val_acc = choose_blend_weight(p_rnn_val, p_nb_val, val_y)
    w_cv = weight_cv_accuracy(p_rnn_val, p_nb_val, val_y)
    blend_test_acc = accuracy(blend(p_rnn_test, p_nb_test, w), yte)
    lb = LogitBlend().fit(p_rnn_val, p_nb_val, val_y)
    lb_val, lb_cv = accuracy(lb.predict_proba(p_rnn_val, p_nb_val), val_y), lb.cv_accuracy(p_rnn_val, p_nb_val, val_y)
    lb_test = accuracy(lb.predict_proba(p_rnn_test, p_nb_test), yte)
    both_cpu, both_wall = t_nb["cpu"] + rnn_cpu, t_nb["wall"] + rnn_wall
    hybrid = "logit" if lb_cv > w_cv else "weight"
    print(f"blend w_rnn={w}: val {blend_val_acc:.4f} (CV {w_cv:.4f}), test {blend_test_acc:.4f}; LogitBlend "
          f"{lb.coef_.round(3).tolist()} {lb.intercept_:.3f}: val {lb_val:.4f} (CV {lb_cv:.4f}), test {lb_test:.4f}; "
          f"hybrid = {hybrid}", flush=True)
    rows.append({"name": f"{'**hybrid** ' if hybrid == 'weight' else ''}blend {w:.2f} × RNN + {1 - w:.2f} × NBSVM",
                 "val_accuracy": blend_val_acc, "val_cv_accuracy": w_cv, "test_accuracy": blend_test_acc,
                 "cpu_seconds": both_cpu, "wall_seconds": both_wall})
    rows.append({"name": f"{'**hybrid** ' if hybrid == 'logit' else ''}LogitBlend {lb.coef_[0]:.2f}·logit RNN + "
                         f"{lb.coef_[1]:.2f}·logit NBSVM {lb.intercept_:+.2f}",
                 "val_accuracy": lb_val, "val_cv_accuracy": lb_cv, "test_accuracy": lb_test,
                 "cpu_seconds": both_cpu, "wall_seconds": both_wall})
    runs["blend"] = {"w_rnn": w, "val_cv_accuracy": w_cv,
                     "val_accuracy_by_w": {f"{g:.2f}": accuracy(blend(p_rnn_val, p_nb_val, g), val_y)
                                           for g in np.linspace(0, 1, 21)},
                     "test_accuracy_by_w": {f"{g:.2f}": accuracy(blend(p_rnn_test, p_nb_test, g), yte)
                                            for g in np.linspace(0, 1, 21)}}
    runs["logit_blend"] = {"coef": lb.coef_.tolist(), "intercept": lb.intercept_, "val_accuracy": lb_val,
                           "val_cv_accuracy": lb_cv, "test_accuracy": lb_test}
    runs["hybrid"] = hybrid
    table = pd.DataFrame(rows)
    md = markdown(table, {"val_accuracy": ".2%", "val_cv_accuracy": ".2%", "test_accuracy": ".2%", "cpu_seconds": ".0f", "wall_seconds": ".0f"})
    print("\n" + md)
    save(NAME, args, {"settings": {"seed": args.seed, "val_share": VAL_SHARE, "data": DATA, "rnn": runs["rnn"].get("build"),
                                   "train": runs["rnn"].get("train"), "C_grid": list(C_GRID), "nb_beta": list(args.nb_beta),
                                   "nb_refit": bool(args.nb_refit), "cv_folds": CV_FOLDS,
                                   "max_average": MAX_AVERAGE, "backend": runs["rnn"].get("backend")},
                      "notes": "cpu/wall seconds: training only (NBSVM: all C fits + their val/test predictions; "
                               "hybrid: the sum of both); the RNN's per-epoch prediction time is in "
                               "runs.rnn.predict_cpu_seconds. C, w, the blend's regression, the averaged epochs and the "
                               "choice between the blends made on validation, never on test; val_accuracy of the blends "
                               "is in-sample (fit on validation), val_cv_accuracy 5-fold; test_accuracy_by_w is for "
                               "the record only.",
                      "table": table.to_dict("records"), "markdown": md, "runs": runs})


if __name__ == "__main__":
    main()
