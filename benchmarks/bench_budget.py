"""Does the `[grading]` budget measure learning? Reference models vs broken ones, per assignment.

Under a candidate budget (default: the `[grading]` section of settings.ini) on the bundled sample (or `--source`),
this trains every model each solution notebook trains, built the way the solution builds it, with the notebook's
data path (`subsample(..., seed=SEED)`, `pad`, `train(..., seed=SEED)`), then re-evaluates it the way the grader does:
on `imdb_course.grading.points.eval_data(params)` (TEST_SAMPLES reviews of the test split, the grader's own seed).
Broken models: raw ids without Embedding (the 01 q4 model), an untrained reference, and the reference trained
on shuffled labels. Prints the separation table and writes results/bench_budget[_<tag>].json.

    python benchmarks/bench_budget.py                                   # the settings.ini budget, bundled sample
    python benchmarks/bench_budget.py --assignments 01 02 --epochs 3 --train-samples 10000
    python benchmarks/bench_budget.py --source /work/shared/data/aclImdb_labeled.tar.gz --tag full
    python benchmarks/bench_budget.py --quick                           # smoke test (01 only, 2,000 reviews, 1 epoch)
"""
from __future__ import annotations
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C

TARGET_REFERENCE, BROKEN_MAX = 0.70, 0.56  # issue 13: a learning reference vs a broken model near chance


def builders(p):
    "assignment -> [(model name, question it is graded for or None, build function)], as the solutions build them."
    import keras
    from keras import layers
    from imdb_course.models import ARCHITECTURES, build_model
    from imdb_course.train import set_seed
    NW, ML = p["NUM_WORDS"], p["MAXLEN"]
    def seq(name, *body):
        m = keras.Sequential([keras.Input(shape=(ML,)), *body, layers.Dense(1, activation="sigmoid")], name=name)
        m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"]); return m
    def stacked_rnn(n):
        return seq(f"rnn_x{n}", layers.Embedding(NW, 64, mask_zero=True),
                   *[layers.SimpleRNN(32, return_sequences=i < n - 1) for i in range(n)])
    prebuilt = {}
    def stacked(n):  # 02 builds its three models one after another right after set_seed(SEED), then trains them
        def build():
            if not prebuilt:
                set_seed(p["SEED"]); prebuilt.update({k: stacked_rnn(k) for k in (1, 2, 3)})
                return prebuilt.pop(n)
            return prebuilt.pop(n) if n in prebuilt else stacked_rnn(n)
        return build
    def arch(a):  # `compare` seeds before building each model
        def build():
            set_seed(p["SEED"]); return build_model(**ARCHITECTURES[a], units=32, mask_zero=True, vocab_size=NW, maxlen=ML, name=a)
        return build
    return {
        "01_epochs": [("simple_rnn", "q2", lambda: seq("simple_rnn", layers.Embedding(NW, 32, mask_zero=True), layers.SimpleRNN(32))),
                      ("raw_ids", None, lambda: build_model("simple_rnn", units=32, embedding=False, maxlen=ML, name="raw_ids"))],
        "02_stacked": [("rnn_x1", None, stacked(1)), ("rnn_x2", "q3", stacked(2)), ("rnn_x3", None, stacked(3))],
        "03_embedding_lstm": [
            ("lstm_1_layer", "q1", lambda: seq("lstm_1_layer", layers.Embedding(NW, 32, mask_zero=True),
                                                layers.LSTM(32, kernel_regularizer=keras.regularizers.L2(1e-4)), layers.Dropout(0.3))),
            ("lstm_2_layers", "q2", lambda: build_model("lstm", units=[32, 32], dropout=0.3, l2=1e-4, mask_zero=True,
                                                         vocab_size=NW, maxlen=ML, name="lstm_2_layers"))],
        "04_gru": [("gru", "q1", lambda: seq("gru", layers.Embedding(NW, 32, mask_zero=True), layers.GRU(32)))]
                  + [(a, "q2" if a == "BiGRU" else None, arch(a)) for a in ARCHITECTURES],
        "05_tuning": [("GRU units=32", None, lambda: build_model("gru", units=32, mask_zero=True, vocab_size=NW, maxlen=ML))],
    }


def main():
    ap = C.parser(__doc__)
    ap.set_defaults(source="sample")
    ap.add_argument("--assignments", nargs="*", default=["01", "02", "03", "04", "05"], help="assignment prefixes")
    for k in ("train_samples", "test_samples", "epochs", "maxlen", "num_words"):
        ap.add_argument(f"--{k.replace('_', '-')}", type=int, default=None, help=f"override [grading] {k}")
    ap.add_argument("--seed", type=int, default=None, help="override the assignments' SEED")
    ap.add_argument("--graded-only", action="store_true", help="skip the models no question re-evaluates")
    ap.add_argument("--no-broken", action="store_true", help="skip the broken models (untrained, shuffled labels)")
    ap.add_argument("--tag", default="", help="suffix of the result file")
    args = ap.parse_args()
    if args.quick:  # smoke test of the script, not the measurement
        args.assignments, args.train_samples, args.epochs, args.graded_only = ["01"], C.QUICK_TRAIN, 1, True
    import time, numpy as np, pandas as pd
    from imdb_course.config import load_settings
    from imdb_course.data import load_imdb_data, subsample, pad
    from imdb_course.grading.inspect import grading_params
    from imdb_course.grading.points import eval_data
    from imdb_course.train import set_seed, train
    from imdb_course.checks import predict, accuracy
    s = load_settings()
    names = [n for n in s.assignments if any(n.startswith(a) for a in args.assignments)]
    C.banner("grading budget: reference vs broken models", args)
    rows = []
    for name in names:
        p = grading_params(name, s)
        p["DATA_SOURCE"] = args.source
        for k in ("train_samples", "test_samples", "epochs", "maxlen", "num_words"):
            if getattr(args, k) is not None: p[k.upper()] = getattr(args, k)
        if args.seed is not None: p["SEED"] = args.seed
        print(f"\n## {name}: {p}", flush=True)
        set_seed(p["SEED"])
        d = load_imdb_data(num_words=p["NUM_WORDS"], source=p["DATA_SOURCE"], verbose=False)
        xtr, ytr = subsample(d.x_train, d.y_train, p["TRAIN_SAMPLES"], seed=p["SEED"])
        xte, yte = subsample(d.x_test, d.y_test, p["TEST_SAMPLES"], seed=p["SEED"])
        data = ((pad(xtr, maxlen=p["MAXLEN"]), ytr), (pad(xte, maxlen=p["MAXLEN"]), yte))
        xe, ye = eval_data(p)
        def held(model): return accuracy(predict(model, xe)[0], ye)
        kw = dict(epochs=p["EPOCHS"], batch_size=p["BATCH_SIZE"], seed=p["SEED"], verbose=0)
        for mname, question, build in builders(p)[name]:
            if args.graded_only and question is None and mname != "raw_ids": continue
            with C.timer() as t:
                run = train(build(), data, **kw)
            row = dict(assignment=name, model=mname, question=question or "", kind="raw ids (broken)" if mname == "raw_ids" else "reference",
                       held_accuracy=held(run.model), notebook_test_accuracy=run.test_accuracy, best_val_accuracy=run.best_val_accuracy,
                       train_seconds=t["wall"], train_cpu_seconds=t["cpu"])
            rows.append(row)
            print(f"  {mname:14s} {row['kind']:17s} held {row['held_accuracy']:.3f}  notebook test {run.test_accuracy:.3f}  ({t['wall']:.1f} s)", flush=True)
            if question and not args.no_broken:
                set_seed(p["SEED"]); m0 = build()
                rows.append(dict(row, kind="untrained (broken)", held_accuracy=held(m0), notebook_test_accuracy=None,
                                 best_val_accuracy=None, train_seconds=0.0, train_cpu_seconds=0.0))
                shuffled = np.random.RandomState(p["SEED"]).permutation(data[0][1])
                with C.timer() as t2:
                    run2 = train(build(), ((data[0][0], shuffled), data[1]), **kw)
                rows.append(dict(row, kind="shuffled labels (broken)", notebook_test_accuracy=run2.test_accuracy,
                                 best_val_accuracy=run2.best_val_accuracy, train_seconds=t2["wall"], train_cpu_seconds=t2["cpu"],
                                 held_accuracy=held(run2.model)))
                print(f"  {mname:14s} untrained         held {rows[-2]['held_accuracy']:.3f}; shuffled labels held {rows[-1]['held_accuracy']:.3f}  ({t2['wall']:.1f} s)", flush=True)
        del d
    df = pd.DataFrame(rows)
    ref = df[(df.kind == "reference") & (df.question != "")]
    broken = df[df.kind != "reference"]
    verdict = dict(references_min=float(ref.held_accuracy.min()) if len(ref) else None,
                   broken_max=float(broken.held_accuracy.max()) if len(broken) else None)
    verdict["separates"] = bool(verdict["references_min"] is not None and verdict["references_min"] >= TARGET_REFERENCE
                                and (verdict["broken_max"] is None or verdict["broken_max"] <= BROKEN_MAX))
    per = df[df.kind.isin(["reference", "raw ids (broken)"])].groupby("assignment").train_seconds.sum().round(1)
    table = C.markdown(df[["assignment", "question", "model", "kind", "held_accuracy", "notebook_test_accuracy", "train_seconds"]],
                       {"held_accuracy": ".3f", "notebook_test_accuracy": ".3f", "train_seconds": ".1f"})
    print("\n" + table + "\n\nseconds of training per assignment (the solution's models):\n" + per.to_string() + f"\n\n{verdict}")
    budget = {k: v for k, v in p.items() if k != "SEED"} if names else {}
    C.save(f"bench_budget{'_' + args.tag if args.tag else ''}", args,
           dict(budget=budget, target_reference=TARGET_REFERENCE, broken_max=BROKEN_MAX, verdict=verdict,
                seconds_per_assignment=per.to_dict(), runs=C.frame_records(df), table_markdown=table))


if __name__ == "__main__":
    main()
