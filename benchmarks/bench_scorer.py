"""Cost of measuring handed-in models out of the grader's process: the same models measured in-process (what the
grader did before: load with safe_mode and predict in the process holding the gradebook), by the scorer as a plain
child process, and by the scorer inside bubblewrap — interleaved in one run so machine load hits all alike.

    nice -n 10 .venv/bin/python benchmarks/bench_scorer.py [N_RUNS] [N_MODELS]
"""
from __future__ import annotations
import statistics, sys, tempfile, time
from pathlib import Path

import keras
from keras import layers

from imdb_course.grading.isolation import choose_isolation
from imdb_course.grading.points import eval_sets
from imdb_course.grading.scorer import measure_model, measure_models

P = dict(DATA_SOURCE="sample", NUM_WORDS=5000, MAXLEN=100, TEST_SAMPLES=1000, SEED=42)  # the grading budget


def models(d:Path, n:int) -> dict:
    out = {}
    for i in range(n):
        m = keras.Sequential([keras.Input((P["MAXLEN"],)), layers.Embedding(P["NUM_WORDS"], 32, mask_zero=True),
                              layers.GRU(32), layers.Dense(1, activation="sigmoid")])
        m.compile("adam", "binary_crossentropy"); m.save(d/f"m{i}.keras"); out[f"q{i}"] = d/f"m{i}.keras"
    return out


def main(runs:int=3, n_models:int=2):
    sets = eval_sets(P)
    ways = {"in-process (before)": lambda ms: {k: measure_model(f, sets, P["MAXLEN"]) for k, f in ms.items()},
            "scorer, plain child": lambda ms: measure_models(ms, sets, P["MAXLEN"], iso=choose_isolation("off")),
            "scorer, bwrap": lambda ms: measure_models(ms, sets, P["MAXLEN"], iso=choose_isolation("required"))}
    times = {k: [] for k in ways}
    with tempfile.TemporaryDirectory() as d:
        ms = models(Path(d), n_models)
        for _ in range(runs):
            for k, f in ways.items():
                t0 = time.perf_counter(); res = f(ms); times[k].append(time.perf_counter() - t0)
                assert all("sets" in r and r["sets"]["held"].get("accuracy") is not None for r in res.values()), (k, res)
    base = statistics.median(times["in-process (before)"])
    print(f"{n_models} models (Embedding+GRU 32) × 2 sets of {P['TEST_SAMPLES']} reviews, {runs} runs\n")
    print("| way | median s | min s | max s | vs in-process |\n|---|---|---|---|---|")
    for k, v in times.items():
        med = statistics.median(v)
        print(f"| {k} | {med:.2f} | {min(v):.2f} | {max(v):.2f} | {med - base:+.2f} s |")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
