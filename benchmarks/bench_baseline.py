"""TF-IDF (word 1-2-grams) + LogisticRegression (imdb_course.baseline) on the full IMDB text: accuracy and seconds.

    python benchmarks/bench_baseline.py            # full run (~1-3 min on 2 cores)
    python benchmarks/bench_baseline.py --quick    # smoke test
"""
from _common import QUICK_TEST, QUICK_TRAIN, banner, markdown, parser, save, timer

NAME = "baseline"


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=1, help="fit this many times; the table reports the median")
    args = p.parse_args(argv)
    banner("TF-IDF + logistic regression baseline", args)

    import pandas as pd
    from imdb_course.baseline import run_baseline
    from imdb_course.data import load_imdb_text
    with timer() as t_text:
        load_imdb_text(args.source, verbose=False)  # tokenized cache warm-up: not part of the baseline's time
    rows, results = [], []
    for i in range(args.repeats):
        with timer() as t:
            r = run_baseline(args.source, train_samples=QUICK_TRAIN if args.quick else None,
                             test_samples=QUICK_TEST if args.quick else None, verbose=False)
        rows.append({"name": r.name, "test_accuracy": r.accuracy, "fit_seconds": r.fit_seconds,
                     "predict_seconds": r.predict_seconds, "seconds": r.seconds, "cpu_seconds": t["cpu"],
                     "total_wall_seconds_incl_text_load": t["wall"], "n_features": r.n_features,
                     "n_train": r.n_train, "n_test": r.n_test, "load_average_1min": t["load_average_1min"]})
        results.append(r.to_dict())
        print(f"   repeat {i + 1}: {r}", flush=True)
    table = pd.DataFrame(rows)
    med = table.drop(columns=["name", "load_average_1min"]).median(numeric_only=True)
    show = pd.DataFrame([{"name": rows[0]["name"], "test_accuracy": med.test_accuracy, "fit_seconds": med.fit_seconds,
                          "predict_seconds": med.predict_seconds, "seconds": med.seconds, "cpu_seconds": med.cpu_seconds,
                          "n_features": int(med.n_features), "n_train": int(med.n_train), "n_test": int(med.n_test)}])
    print()
    print(show.to_string(index=False))
    md = markdown(show, {"test_accuracy": ".2%", "fit_seconds": ".1f", "predict_seconds": ".1f", "seconds": ".1f",
                         "cpu_seconds": ".1f", "n_features": ",", "n_train": ",", "n_test": ","})
    print("\n" + md)
    save(NAME, args, {"settings": results[0]["params"], "text_load_seconds": t_text["wall"],
                      "notes": "seconds = fit (vocabulary, TF-IDF weighting, logistic regression) + predict on the test "
                               "set; the raw-text load from the tokenized cache is excluded (text_load_seconds).",
                      "table": show.to_dict("records"), "repeats": rows, "markdown": md})


if __name__ == "__main__":
    main()
