"""Grades from evidence: the grader's own measurements decide, never the numbers a notebook reports.

Artifacts are handed in with `submit` in this process (no kernel) and scored by `score_artifacts`, which measures every
model in the sandboxed scorer process, as grading does. Data: the bundled sample under the grading budget."""
import json, os
from pathlib import Path

import numpy as np
import pytest
import keras
from keras import layers

from imdb_course.data import length_stats, load_imdb, pad, subsample
from imdb_course.grading.isolation import choose_isolation
from imdb_course.grading.points import score_artifacts, score_question
from imdb_course.plots import best_epoch
from imdb_course.submit import submit
from imdb_course.train import set_seed, train

pytestmark = pytest.mark.slow  # trains two real models under the grading budget

P = dict(DATA_SOURCE="sample", NUM_WORDS=5000, MAXLEN=100, EPOCHS=3, BATCH_SIZE=64, TRAIN_SAMPLES=10_000,
         TEST_SAMPLES=1000, SEED=42)
RNN = {"cell": "simple_rnn", "embedding": True, "recurrent_layers": 1}
QUESTIONS = {  # the rubrics of 01_epochs, plus a table (02/04/05) and a key no rule covers
    "q1": {"kind": "code", "points": 1.0, "rubric": {"answer_keys": ["median_length", "share_truncated"],
           "evidence": {"median_length": "length:median", "share_truncated": "length:share_truncated"}}},
    "q2": {"kind": "code", "points": 3.0, "rubric": {"model": RNN, "epochs": "EPOCHS", "accuracy": {"min": 0.5, "vs_reference": True}}},
    "q3": {"kind": "code", "points": 2.0, "rubric": {"answer_keys": ["best_epoch", "test_accuracy"],
           "evidence": {"best_epoch": "best_epoch:q2", "test_accuracy": "test_accuracy:q2"}}},
    "q4": {"kind": "code", "points": 2.0, "rubric": {"answer_keys": ["table"], "evidence": {"table": "table"}}},
    "q5": {"kind": "code", "points": 1.0, "rubric": {"answer_keys": ["why"]}},
}


def rnn():
    m = keras.Sequential([keras.Input((P["MAXLEN"],)), layers.Embedding(P["NUM_WORDS"], 32, mask_zero=True),
                          layers.SimpleRNN(32), layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return m


@pytest.fixture(scope="module")
def reviews():
    "The notebook's own reviews under the grading parameters (what 01_epochs draws)."
    (xtr, ytr), (xte, yte) = load_imdb(num_words=P["NUM_WORDS"], source="sample", verbose=False)
    xtr, ytr = subsample(xtr, ytr, P["TRAIN_SAMPLES"], seed=P["SEED"])
    xte, yte = subsample(xte, yte, P["TEST_SAMPLES"], seed=P["SEED"])
    return xtr, ytr, pad(xtr, maxlen=P["MAXLEN"]), pad(xte, maxlen=P["MAXLEN"]), yte


@pytest.fixture(scope="module")
def runs(reviews):
    "A correctly trained model and one trained on shuffled labels (real training under the grading budget)."
    xtr_ids, ytr, xtr, xte, yte = reviews
    set_seed(P["SEED"])   # as the reference solution (a SimpleRNN's 3 epochs depend on the seed)
    good = train(rnn(), ((xtr, ytr), (xte, yte)), epochs=P["EPOCHS"], batch_size=64, seed=P["SEED"], name="good")
    shuffled = train(rnn(), ((xtr, np.random.default_rng(1).permutation(ytr)), (xte, yte)), epochs=P["EPOCHS"],
                     batch_size=64, seed=P["SEED"], name="shuffled")
    return good, shuffled


@pytest.fixture(scope="module")
def iso():
    return choose_isolation("required" if os.environ.get("CI") else "auto")


def hand_in(root, q1, q2_model, q2_history, q3, q4_table, q4_models=None, x_test=None):
    out = root/"course_output"
    submit("q1", output_dir=out, answer=q1, params=P, verbose=False)
    submit("q2", output_dir=out, model=q2_model, history=q2_history, params=P, x_test=x_test, verbose=False)
    submit("q3", output_dir=out, answer=q3, params=P, verbose=False)
    submit("q4", output_dir=out, answer={"table": q4_table}, models=q4_models, params=P, verbose=False)
    submit("q5", output_dir=out, answer={"why": "the curves flatten after epoch 2"}, params=P, verbose=False)
    return out


def codes(res, q): return [d["code"] for d in res[q]["diagnoses"]]


@pytest.fixture(scope="module")
def honest(tmp_path_factory, reviews, runs, iso):
    xtr_ids, _, _, xte, _ = reviews
    good, _ = runs
    stats = length_stats(xtr_ids, maxlen=P["MAXLEN"])
    epoch, _ = best_epoch(good)
    out = hand_in(tmp_path_factory.mktemp("honest"), {"median_length": stats["median"], "share_truncated": stats["share_truncated"]},
                  good.model, good, {"best_epoch": epoch, "test_accuracy": good.test_accuracy},
                  [{"name": "SimpleRNN", "test_accuracy": good.test_accuracy, "params": good.params}], {"SimpleRNN": good.model}, xte)
    res = score_artifacts(out, QUESTIONS, P, iso=iso)
    return res, good


def test_honest_work_is_verified_and_unverifiable_claims_wait_for_a_person(honest):
    res, good = honest
    assert res["q2"]["accuracy"] > 0.65, res["q2"]  # the budget separates: a trained model is clearly above chance
    for q in ("q1", "q2", "q3", "q4"):
        assert res[q]["points"] == QUESTIONS[q]["points"], (q, res[q]["messages"], res[q]["diagnoses"])
    assert codes(res, "q3").count("answer-verified") == 2 and "history-agrees" in codes(res, "q2")
    assert res["q5"]["points"] == 0 and res["q5"]["pending_points"] == 1.0 and res["q5"]["manual_keys"] == ["why"]
    assert "answer-manual" in codes(res, "q5")


def test_fabricated_work_earns_nothing_for_what_it_fabricated(tmp_path, reviews, runs, honest, iso):
    "Untrained model + hand-written history claiming 1.0, typed statistics, another model's accuracy, a typed table."
    _, _, _, xte, _ = reviews
    good, _ = runs
    reference = {"q2": {"accuracy": honest[0]["q2"]["accuracy"]}}
    untrained = rnn()
    out = hand_in(tmp_path, {"median_length": 100.0, "share_truncated": 0.5}, untrained,
                  {"loss": [0.3, 0.1, 0.05], "accuracy": [0.95, 1.0, 1.0], "val_loss": [0.2, 0.1, 0.1], "val_accuracy": [0.99, 1.0, 1.0]},
                  {"best_epoch": 2, "test_accuracy": good.test_accuracy},   # the accuracy of another (the good) model
                  [{"name": "SimpleRNN", "test_accuracy": 0.91}, {"name": "LSTM", "test_accuracy": 0.93}], None, xte)
    res = score_artifacts(out, QUESTIONS, P, reference=reference, iso=iso)
    assert res["q1"]["points"] == 0 and codes(res, "q1").count("reported-disagrees") == 2
    q2 = res["q2"]
    assert "history-disagrees" in codes(res, "q2") and q2["items"]["epochs"]["fraction"] == 0, q2["diagnoses"]
    assert q2["items"]["accuracy"]["fraction"] == 0 and "below-reference" in codes(res, "q2")
    assert q2["points"] <= round(3 * 4 / 7, 2)   # only the handed-in files and the (right) architecture earn points
    assert "reported-disagrees" in codes(res, "q3") and res["q3"]["points"] == 0   # best epoch read off a forged history
    assert sum(res[q]["points"] for q in ("q1", "q2", "q3", "q4")) < 0.25 * 8
    msg = next(d["message"] for d in res["q3"]["diagnoses"] if d["code"] == "reported-disagrees" and d["message"].startswith("test_accuracy"))
    assert f"{good.test_accuracy:.4g}" in msg and "the grader measured" in msg   # both numbers shown
    assert res["q4"]["points"] == 0 and "no model handed in" in " ".join(res["q4"]["messages"])


def test_shuffled_labels_stay_near_chance_and_lose_the_accuracy_item(tmp_path, reviews, runs, honest, iso):
    _, _, _, xte, _ = reviews
    _, shuffled = runs
    out = hand_in(tmp_path, {}, shuffled.model, shuffled, {}, [], None, xte)
    res = score_artifacts(out, QUESTIONS, P, reference={"q2": {"accuracy": honest[0]["q2"]["accuracy"]}}, iso=iso)
    assert res["q2"]["accuracy"] <= 0.56 and res["q2"]["items"]["accuracy"]["fraction"] == 0
    assert "history-agrees" in codes(res, "q2")   # an honest history of a useless run is still honest


def test_a_model_file_that_would_run_code_is_refused_and_runs_nothing(tmp_path, iso):
    marker = Path("/tmp/imdb-course-pwned-by-a-model")   # the Lambda's code would create it when deserialized and called
    evil = keras.Sequential([keras.Input((P["MAXLEN"],)), layers.Embedding(50, 4), layers.SimpleRNN(2),
                             layers.Lambda(lambda t: (open("/tmp/imdb-course-pwned-by-a-model", "w").close(), t)[1]),
                             layers.Dense(1, activation="sigmoid")])
    qdir = tmp_path/"course_output"/"q2"; qdir.mkdir(parents=True)
    evil.save(qdir/"model.keras")
    (qdir/"answer.json").write_text(json.dumps({"question": "q2", "answer": {}, "params": P}))
    (qdir/"history.json").write_text(json.dumps({"loss": [0.7, 0.6, 0.6], "val_accuracy": [0.5, 0.5, 0.5]}))
    marker.unlink(missing_ok=True)
    res = score_artifacts(tmp_path/"course_output", {"q2": QUESTIONS["q2"]}, P, iso=iso)
    assert not marker.exists()
    assert res["q2"]["points"] == 0 and "corrupt-artifact" in codes(res, "q2"), res["q2"]


def test_a_small_vocabulary_is_judged_on_its_shape_and_measured_with_oov(tmp_path, reviews, iso):
    "Embedding(1000) instead of NUM_WORDS: one share of the architecture, accuracy measured with ids mapped to OOV."
    _, _, _, xte, _ = reviews
    m = keras.Sequential([keras.Input((P["MAXLEN"],)), layers.Embedding(1000, 8), layers.SimpleRNN(4),
                          layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy")
    submit("q2", output_dir=tmp_path, model=m, history={"loss": [0.7, 0.6, 0.6], "val_accuracy": [0.5, 0.5, 0.5]}, params=P, verbose=False)
    res = score_artifacts(tmp_path, {"q2": QUESTIONS["q2"]}, P, iso=iso)
    q2 = res["q2"]
    assert q2["accuracy"] is not None and "vocabulary-mapped" in codes(res, "q2"), q2["diagnoses"]
    assert 0 < q2["items"]["model"]["fraction"] < 1


def test_percent_answers_and_a_band_of_reference_runs_are_judged_alike(tmp_path, reviews, runs, iso):
    "Accuracies in percent verify everywhere (answers and table rows); the accuracy item shows its interval and the band."
    xtr_ids, _, _, xte, _ = reviews
    good, _ = runs
    stats = length_stats(xtr_ids, maxlen=P["MAXLEN"])
    epoch, _ = best_epoch(good)
    pct = round(100 * good.test_accuracy, 2)
    out = hand_in(tmp_path, {"median_length": stats["median"], "share_truncated": stats["share_truncated"]}, good.model, good,
                  {"best_epoch": epoch, "test_accuracy": pct}, [{"name": "SimpleRNN", "test_accuracy": pct}], {"SimpleRNN": good.model}, xte)
    acc = good.test_accuracy
    res = score_artifacts(out, QUESTIONS, P, reference={"q2": {"accuracies": [acc - 0.01, acc, acc + 0.01]}}, iso=iso)
    assert res["q3"]["points"] == 2 and res["q4"]["points"] == 2, (res["q3"]["messages"], res["q4"]["messages"])
    msg = next(d["message"] for d in res["q2"]["diagnoses"] if d["code"] == "accuracy-reference")
    assert "over 3 seeds" in msg and "95 % interval on" in msg, msg


def test_one_model_under_two_rows_does_not_verify(tmp_path, reviews, runs, iso):
    "The same model handed in for two table rows: `row-same-model`, and neither row counts."
    _, _, _, xte, _ = reviews
    good, _ = runs
    rows = [{"name": n, "test_accuracy": good.test_accuracy, "params": good.params} for n in ("SimpleRNN", "SimpleRNN again")]
    out = hand_in(tmp_path, {}, good.model, good, {}, rows, {"SimpleRNN": good.model, "SimpleRNN again": good.model}, xte)
    res = score_artifacts(out, QUESTIONS, P, iso=iso)
    assert "row-same-model" in codes(res, "q4") and res["q4"]["points"] == 0, res["q4"]["messages"]


def test_a_model_far_better_on_its_own_test_reviews_is_a_test_leak():
    "Measured on both sets: far better on the notebook's test reviews than on held-out ones (4 standard errors) is `test-leak`."
    from imdb_course.grading.points import test_leak
    m = lambda a, b: {"sets": {"notebook": {"accuracy": a, "n": 1000}, "held": {"accuracy": b, "n": 1000}}}
    assert test_leak(m(0.95, 0.78)).code == "test-leak"
    assert test_leak(m(0.806, 0.779)) is None   # within honest noise (a diluted leak is not visible either)
    assert test_leak(m(0.76, 0.79)) is None
