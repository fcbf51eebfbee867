"""The BEST_RNN_ENSEMBLE recipe of nbs/api/08_hybrid.ipynb for one seed, checked against a bench_best run of it.

    KERAS_BACKEND=jax python benchmarks/check_ensemble_recipe.py SEED BENCH_PREDICTIONS.npz OUT.npz
"""
import sys, time, json
import keras, numpy as np
from imdb_course.data import load_imdb_data
from imdb_course.hybrid import BEST_RNN_ENSEMBLE, EpochPredictions, build_pooled_rnn
from imdb_course.train import set_seed, train
seed = int(sys.argv[1])
cfg = BEST_RNN_ENSEMBLE
d = load_imdb_data(verbose=False, **cfg["data"]); n_val = len(d.y_train) // 10
fit, val = (d.x_train[:-n_val], d.y_train[:-n_val]), d.x_train[-n_val:]
set_seed(seed)
model = build_pooled_rnn(cfg["data"]["num_words"], **cfg["build"])
snaps = EpochPredictions({"val": val, "test": d.x_test}, per_epoch=cfg["per_epoch"])
rates = keras.callbacks.LearningRateScheduler(lambda epoch, lr: cfg["learning_rates"][epoch])
t = time.process_time()
train(model, (fit, None), validation_split=0, seed=seed, callbacks=[rates, snaps], **cfg["train"])
cpu = time.process_time() - t - snaps.cpu_seconds
p_val, p_test = snaps.mean("val", *cfg["average"]), snaps.mean("test", *cfg["average"])
acc = lambda p, y: float(((p >= .5) == y).mean())
ref = np.load(sys.argv[2])
L = list(ref["snapshot_labels"]); k = L.index(2.0)
out = {"seed": seed, "backend": keras.backend.backend(), "epochs": snaps.epochs, "train_cpu_seconds_excl_predictions": cpu,
       "predict_cpu_seconds": snaps.cpu_seconds,
       "per_snapshot": [{"epoch": e, "val": acc(v, d.y_train[-n_val:]), "test": acc(te, d.y_test)}
                        for e, v, te in zip(snaps.epochs, snaps.predictions["val"], snaps.predictions["test"])],
       "avg_val": acc(p_val, d.y_train[-n_val:]), "avg_test": acc(p_test, d.y_test),
       "bench_avg_val": acc(ref["snapshot_val"][:k + 1].mean(0), ref["y_val"]),
       "bench_avg_test": acc(ref["snapshot_test"][:k + 1].mean(0), ref["y_test"]),
       "max_abs_diff_test_vs_bench": float(np.abs(p_test - ref["snapshot_test"][:k + 1].mean(0)).max()),
       "same_labels": bool((ref["y_test"] == d.y_test).all())}
print(json.dumps(out, indent=1))
np.savez_compressed(sys.argv[3], val=p_val, test=p_test)
