"""imdb_course.checks: each classic mistake gets its code; the grader scores artifacts, not claims."""
import json, os, shutil
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import pandas as pd
import pytest
import keras
from keras import layers

from imdb_course.checks import (Diagnoses, accuracy, _best_epoch, check_architecture, check_claims,
                                check_embedding, check_history, check_output, check_overfitting, check_padded,
                                check_param_counts, check_params, check_predictions, check_stacking, self_check)
from imdb_course.anatomy import describe_model, param_counts, rnn_param_count
from imdb_course.grading.points import QuestionScore, score_question, INFORMATIVE_REFERENCE, ITEM_WEIGHTS
from imdb_course.submit import submit
from imdb_course.grading.result import GradeResult

MAXLEN, NUM_WORDS = 20, 100
PARAMS = {"NUM_WORDS": NUM_WORDS, "MAXLEN": MAXLEN, "EPOCHS": 1}
RUBRIC = {"model": {"cell": "simple_rnn", "recurrent_layers": 1, "embedding": True}, "epochs": "EPOCHS",
          "accuracy": {"min": 0.0, "vs_reference": True}, "answer_keys": ["best_epoch"]}


def tiny(*ls, loss="binary_crossentropy", maxlen=MAXLEN):
    m = keras.Sequential([keras.Input((maxlen,)), *ls])
    if loss: m.compile("adam", loss, metrics=["accuracy"])
    return m


def good_model():
    return tiny(layers.Embedding(NUM_WORDS, 8), layers.SimpleRNN(4), layers.Dense(1, activation="sigmoid"))


@pytest.fixture(scope="module")
def data():
    """Learnable synthetic reviews: positive reviews use ids >= 50 more often."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    x = np.where(rng.random((400, MAXLEN)) < 0.6, rng.integers(3, 50, (400, MAXLEN)) + 47 * y[:, None],
                 rng.integers(3, NUM_WORDS, (400, MAXLEN))).astype("int32")
    return x, y


def history_of(model, **metrics):
    """A real keras History without paying for training (the checks under test do not need trained weights)."""
    h = keras.callbacks.History()
    h.set_model(model)
    h.history = {k: list(v) for k, v in metrics.items()}
    return h


@pytest.fixture(scope="module")
def handed_in(data):
    """A correct model trained on the learnable synthetic reviews (held out: x[300:]), with a 1-epoch History.

    It must really have learned: the grader's accuracy floor is chance + CHANCE_MARGIN, and an untrained model that
    lands at 0.55 by luck must not score full marks."""
    x, y = data
    keras.utils.set_random_seed(0)
    m = good_model()
    m.fit(x[:300], y[:300], epochs=8, batch_size=32, verbose=0)
    return m, history_of(m, loss=[0.69], accuracy=[0.55], val_loss=[0.68], val_accuracy=[0.6])


# --- the classic mistakes ---------------------------------------------------------------------------

MISTAKES = [
    ("sigmoid-two-units", lambda: tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(2, activation="sigmoid"))),
    ("softmax-one-unit", lambda: tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(1, activation="softmax"))),
    ("loss-output-mismatch", lambda: tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(2, activation="softmax"))),
    ("loss-output-mismatch", lambda: tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(1, activation="sigmoid"),
                                          loss="sparse_categorical_crossentropy")),
    ("no-embedding", lambda: tiny(layers.Reshape((MAXLEN, 1)), layers.SimpleRNN(4), layers.Dense(1, activation="sigmoid"))),
    ("embedding-too-small", lambda: tiny(layers.Embedding(50, 8), layers.SimpleRNN(4), layers.Dense(1, activation="sigmoid"))),
    ("missing-return-sequences", lambda: keras.Sequential([layers.Embedding(100, 8), layers.SimpleRNN(4), layers.SimpleRNN(4),
                                                           layers.Dense(1, activation="sigmoid")])),
    ("sequence-output", lambda: tiny(layers.Embedding(100, 8), layers.LSTM(4, return_sequences=True), layers.Dense(1, activation="sigmoid"))),
    ("output-units", lambda: tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(3, activation="softmax"))),
]


@pytest.mark.parametrize("code,build", MISTAKES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(MISTAKES)])
def test_classic_mistake_detected(code, build):
    res = self_check("q1", model=build(), params=PARAMS)
    assert code in [d.code for d in res.errors], res.text()
    d = next(d for d in res.errors if d.code == code)
    assert d.hint and d.message


def test_correct_model_has_no_errors(data):
    x, y = data
    res = self_check("q1", model=good_model(), params=PARAMS, x=x, y=y)
    assert res.ok, res.text()
    assert {"padded", "embedding", "stacking", "output"} <= set(res.codes)


def test_embedding_len_word_index_classic():
    # Embedding(len(word_index)) with NUM_WORDS ids shifted by index_from=3: too small by 3 rows
    m = tiny(layers.Embedding(NUM_WORDS - 3, 8), layers.SimpleRNN(4), layers.Dense(1, activation="sigmoid"))
    [d] = check_embedding(m, NUM_WORDS)
    assert d.code == "embedding-too-small" and "index_from" in d.hint
    assert check_embedding(tiny(layers.Embedding(5000, 8), layers.SimpleRNN(4), layers.Dense(1)), NUM_WORDS).codes == ["embedding-oversized"]


def test_out_of_range_ids_fail_prediction_as_diagnosis(data):
    x, y = data
    m = tiny(layers.Embedding(10, 8), layers.SimpleRNN(4), layers.Dense(1, activation="sigmoid"))
    res = self_check("q1", model=m, params=PARAMS, x=x, y=y)   # must not raise
    assert {"embedding-too-small", "predict-failed"} <= set(res.codes)


def test_labels_and_loss():
    m = good_model()
    assert check_output(m, y=np.array([0, 1, 2])).codes == ["labels-not-binary"]
    soft2 = tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(2, activation="softmax"), loss="categorical_crossentropy")
    assert check_output(soft2, y=np.array([0, 1])).codes == ["loss-output-mismatch"]
    assert check_output(soft2, y=np.eye(2)).codes == ["output"]
    logits = tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(1), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    assert check_output(logits).codes == ["output"]
    assert check_output(tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(1))).codes == ["logits-mismatch"]


def test_padded_shape():
    ragged = np.array([list(range(1, 30)), [1, 5]], dtype=object)
    assert check_padded(ragged, MAXLEN).codes == ["not-padded"]
    assert check_padded(np.zeros((3, 200), "int32"), MAXLEN).codes == ["wrong-maxlen"]
    assert check_padded(np.ones((3, MAXLEN), "int32"), MAXLEN).codes == ["padded"]


def test_describe_nested_functional_bidirectional():
    inp = keras.Input((MAXLEN,))
    z = keras.Sequential([layers.Embedding(100, 8), layers.Bidirectional(layers.GRU(4, return_sequences=True))])(inp)
    z = layers.LSTM(3, recurrent_dropout=0.1)(z)
    m = keras.Model(inp, layers.Dense(1, activation="sigmoid")(z))
    info = describe_model(m)
    assert [(r["cell"], r["bidirectional"]) for r in info.recurrent] == [("gru", True), ("lstm", False)]
    assert info.embedding_first and info.dropout and not info.sequence_output
    assert check_architecture(m, {"min_recurrent_layers": 2, "bidirectional": True, "dropout": True}).ok
    assert check_architecture(m, {"cell": "gru"}).codes == ["wrong-cell"]
    assert check_stacking(m).codes == ["stacking"]


def test_param_counts_formula():
    for cell, cls in [("simple_rnn", layers.SimpleRNN), ("lstm", layers.LSTM), ("gru", layers.GRU)]:
        for bidir in (False, True):
            rnn = cls(5)
            m = tiny(layers.Embedding(100, 7), layers.Bidirectional(rnn) if bidir else rnn, layers.Dense(1))
            assert list(param_counts(m).values())[1] == rnn_param_count(cell, 7, 5, bidir)
    m = good_model()
    assert check_param_counts(m, 800 + 52 + 5).codes == ["param-count"] and check_param_counts(m, 800 + 52 + 5).ok
    assert check_param_counts(m, 1000).warnings


# --- history, accuracy, overfitting --------------------------------------------------------------------

def test_history_length_mismatch(handed_in):
    m, h = handed_in   # a real keras History of 1 epoch
    assert check_history(h, epochs=1).codes[0] == "history-length"
    assert check_history(h, epochs=3).codes[0] == "history-too-short"
    assert check_history({"loss": [0.7] * 20, "val_loss": [0.7] * 20}, epochs=3).codes == ["history-too-long"]
    df = pd.DataFrame({"loss": [0.6, 0.5], "val_loss": [0.6, 0.55]}, index=pd.RangeIndex(1, 3, name="epoch"))
    class Run: history = df   # duck-typed train.Run
    assert check_history(Run(), epochs=2).codes == ["history-length"]
    res = self_check("q1", history=h, params={"EPOCHS": 20})
    assert "history-too-short" in res.codes and not res.ok


def test_nan_loss_and_no_validation():
    assert check_history({"loss": [0.7, float("nan")]}, 2).codes == ["history-length", "nan-loss", "no-validation"]


def test_chance_accuracy(data):
    x, y = data
    res = self_check("q1", predictions=np.full(len(y), 0.9), y=y)
    assert res.codes == ["chance-accuracy"]
    res = self_check("q1", history={"loss": [0.7], "val_loss": [0.7], "val_accuracy": [0.5]})
    assert "chance-accuracy" in res.codes
    assert self_check("q1", predictions=(y > 0).astype(float), y=y).codes == ["accuracy"]


def test_overfitting_and_best_epoch():
    h = {"loss": [0.69, 0.5, 0.3, 0.2], "val_loss": [0.68, 0.55, 0.58, 0.66], "val_accuracy": [0.55, 0.74, 0.75, 0.73]}
    assert _best_epoch(h) == 2 and _best_epoch(h, "val_accuracy") == 3
    [d] = check_overfitting(h)
    assert d.code == "overfitting" and "epoch 2" in d.message and "EarlyStopping" in d.hint
    assert check_overfitting({"loss": [0.6, 0.5], "val_loss": [0.6, 0.5]}).codes == ["best-epoch"]


def test_wrong_model_detected_from_predictions(data, handed_in):
    x, y = data
    m, _ = handed_in
    other = good_model()   # unhanded_in: a different model
    res = self_check("q1", model=m, x=x[300:], y=y[300:], predictions=other.predict(x[300:], verbose=0), params=PARAMS)
    assert "wrong-model" in res.codes
    res = self_check("q1", model=m, x=x[300:], y=y[300:], predictions=m.predict(x[300:], verbose=0), params=PARAMS)
    assert "wrong-model" not in res.codes and "predictions" in res.codes


def test_params_and_claims():
    assert check_params({"EPOCHS": 20}, {"EPOCHS": 1}).codes == ["param-overridden"]
    assert check_params({"epochs": 1, "OUTPUT_DIR": "x"}, {"EPOCHS": 1, "OUTPUT_DIR": "y"}).codes == ["params"]
    assert check_claims({"test_accuracy": 0.99}, acc=0.5).codes == ["claimed-accuracy"]
    assert check_claims({"best_epoch": 0}, history={"loss": [1, 0.5], "val_loss": [0.7, 0.6]}).codes == ["best-epoch-mismatch"]


def test_printing_plain_and_html():
    res = self_check("q7", model=MISTAKES[0][1](), params=PARAMS)
    text = str(res)
    assert text.startswith("Self-check q7") and "✗ sigmoid-two-units" in text and "hint:" in text and "✓ embedding" in text
    assert "1 error(s)" in text and repr(res) == text
    assert "<code>sigmoid-two-units</code>" in res._repr_html_()


def test_accuracy_helpers():
    assert accuracy(np.array([[0.9], [0.1]]), [1, 0]) == 1.0
    assert accuracy(np.array([[0.1, 0.9], [0.9, 0.1]]), [1, 1]) == 0.5
    with pytest.raises(ValueError, match="same reviews"):
        accuracy(np.zeros(3), [0, 1])


# --- scoring artifacts in the grader's process ----------------------------------------------------------

def _submit(tmp_path, model, history, answer=None, params=PARAMS, **kw):
    return submit("q1", output_dir=tmp_path, model=model, history=history, answer=answer or {"best_epoch": 1},
                  params=params, verbose=False, **kw)


def test_score_full_marks_and_split(tmp_path, data, handed_in):
    x, y = data
    m, h = handed_in
    qdir = _submit(tmp_path, m, h, x_test=x[300:], y_test=y[300:])
    s = score_question(qdir, RUBRIC, 4, PARAMS, eval_data=(x[300:], y[300:]))
    assert isinstance(s, QuestionScore) and s.points == 4 and s.max_points == 4, str(s)
    assert set(s.items) == set(ITEM_WEIGHTS) and all(i["fraction"] == 1 for i in s.items.values())
    assert s.accuracy == pytest.approx(accuracy(m.predict(x[300:], verbose=0), y[300:]))
    assert json.dumps(s.to_dict())   # gradebook-ready


def test_forged_answer_scored_by_reevaluation(tmp_path, data):
    x, y = data
    m = good_model()   # never handed_in: ~chance
    qdir = _submit(tmp_path, m, {"loss": [0.69], "val_loss": [0.69], "val_accuracy": [0.99]},
                   answer={"best_epoch": 1, "test_accuracy": 0.99})
    rubric = dict(RUBRIC, accuracy={"min": 0.8})
    y_noise = np.random.default_rng(5).integers(0, 2, len(y))   # labels no model can predict
    s = score_question(qdir, rubric, 7, PARAMS, eval_data=(x, y_noise))
    assert s.accuracy < 0.7 and s.items["accuracy"]["fraction"] == 0
    assert {"claimed-accuracy", "below-min-accuracy"} <= set(s.diagnoses.codes)
    total_weight = sum(ITEM_WEIGHTS.values())   # every item applies under RUBRIC
    assert s.points == pytest.approx(7 * (total_weight - ITEM_WEIGHTS["accuracy"]) / total_weight, abs=0.01)


def test_forged_answer_json_edited_after_submit(tmp_path, data):
    x, y = data
    qdir = _submit(tmp_path, good_model(), {"loss": [0.69], "val_loss": [0.69]})
    a = json.loads((qdir / "answer.json").read_text())
    a["answer"]["test_accuracy"] = 0.99
    a["self_check"] = []
    (qdir / "answer.json").write_text(json.dumps(a))
    y_noise = np.random.default_rng(5).integers(0, 2, len(y))
    s = score_question(qdir, {"accuracy": {"min": 0.9}}, 2, PARAMS, eval_data=(x, y_noise))
    assert s.accuracy < 0.9 and s.points < 2 and "claimed-accuracy" in s.diagnoses.codes


def test_hard_coded_epochs_loses_epoch_points(tmp_path, data, handed_in):
    x, y = data
    m, _ = handed_in
    qdir = _submit(tmp_path, m, {"loss": [0.7] * 3, "val_loss": [0.7] * 3}, params=dict(PARAMS, EPOCHS=3))
    s = score_question(qdir, RUBRIC, 7, PARAMS, eval_data=(x, y))
    assert s.items["epochs"]["fraction"] == 0 and {"history-too-long", "param-overridden"} <= set(s.diagnoses.codes)
    total_weight = sum(ITEM_WEIGHTS.values())
    assert s.points == pytest.approx(7 * (total_weight - ITEM_WEIGHTS["epochs"]) / total_weight, abs=0.01)


def test_core_architecture_mistake_loses_all_model_points(tmp_path, data):
    bad = tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(2, activation="sigmoid"))
    qdir = _submit(tmp_path, bad, {"loss": [0.7], "val_loss": [0.7]})
    s = score_question(qdir, {"model": RUBRIC["model"]}, 3, PARAMS)
    assert "sigmoid-two-units" in s.diagnoses.codes
    # the output layer is a core requirement: a wrong one voids the model item, the artifacts item still counts
    assert s.items["model"]["fraction"] == 0
    w = ITEM_WEIGHTS
    assert s.points == pytest.approx(round(3 * w["artifacts"] / (w["artifacts"] + w["model"]), 2))


def test_secondary_architecture_mistake_gets_partial_credit(tmp_path, data):
    lstm = tiny(layers.Embedding(100, 8), layers.LSTM(4), layers.Dense(1, activation="sigmoid"))
    qdir = _submit(tmp_path, lstm, {"loss": [0.7], "val_loss": [0.7]})
    s = score_question(qdir, {"model": RUBRIC["model"]}, 3, PARAMS)
    # core groups (output, stacking) pass; shares cell + recurrent_layers + vocabulary -> only the cell is wrong
    assert s.items["model"]["fraction"] == pytest.approx(2 / 3, abs=1e-4), s.diagnoses.text()
    w = ITEM_WEIGHTS
    assert s.points == pytest.approx(round(3 * (w["artifacts"] + w["model"] * 2 / 3) / (w["artifacts"] + w["model"]), 2))


def test_wrong_model_in_grader(tmp_path, data, handed_in):
    x, y = data
    m, h = handed_in
    qdir = _submit(tmp_path, m, h, predictions=good_model().predict(x[300:], verbose=0))
    s = score_question(qdir, {"accuracy": {}}, 1, PARAMS, eval_data=(x, y), predictions_x=x[300:])
    assert "wrong-model" in s.diagnoses.codes
    s = score_question(qdir, {"accuracy": {}}, 1, PARAMS, eval_data=(x, y))   # no predictions_x: no comparison
    assert "wrong-model" not in s.diagnoses.codes


def test_accuracy_not_scored_when_reference_is_near_chance(tmp_path, data, handed_in):
    "A grading budget where even the reference solution can't learn: accuracy is reported, the other items carry the points."
    x, y = data
    m, h = handed_in
    qdir = _submit(tmp_path, m, h)
    s = score_question(qdir, RUBRIC, 4, PARAMS, eval_data=(x, y), reference_accuracy=INFORMATIVE_REFERENCE - 0.1)
    assert "accuracy" not in s.items and s.accuracy is not None and "accuracy-not-assessed" in s.diagnoses.codes
    assert s.points == 4 and "chance-accuracy" not in s.diagnoses.codes
    s = score_question(qdir, RUBRIC, 4, PARAMS, eval_data=(x, y), reference_accuracy=0.99)
    assert s.items["accuracy"]["fraction"] < 1 and "below-reference" in s.diagnoses.codes and s.points < 4


@pytest.mark.parametrize("damage", ["bad-json", "answer-list", "truncated-model", "garbage-model", "missing-model",
                                    "missing-dir", "symlink-model", "history-not-dict", "lambda-model"])
def test_corrupt_artifacts_score_zero_with_message(tmp_path, data, handed_in, damage):
    x, y = data
    m, h = handed_in
    qdir = _submit(tmp_path, m, h)
    if damage == "bad-json": (qdir / "answer.json").write_text('{"question": "q1", "answer": {"best_epoch": 1')
    elif damage == "answer-list": (qdir / "answer.json").write_text("[1, 2]")
    elif damage == "truncated-model":
        b = (qdir / "model.keras").read_bytes(); (qdir / "model.keras").write_bytes(b[: len(b) // 3])
    elif damage == "garbage-model": (qdir / "model.keras").write_bytes(b"not a model")
    elif damage == "missing-model": (qdir / "model.keras").unlink()
    elif damage == "missing-dir": shutil.rmtree(qdir)
    elif damage == "symlink-model":
        other = tmp_path / "elsewhere.keras"; (qdir / "model.keras").rename(other); os.symlink(other, qdir / "model.keras")
    elif damage == "history-not-dict": (qdir / "history.json").write_text('"loss"')
    elif damage == "lambda-model":
        lm = tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(1), layers.Lambda(lambda t: t * 0 + 1))
        lm.save(qdir / "model.keras")
    s = score_question(qdir, RUBRIC, 5, PARAMS, eval_data=(x, y), reference_accuracy=0.5)
    assert s.points == 0 and s.accuracy is None
    errs = [d for d in s.diagnoses.errors if d.code in ("missing-artifact", "corrupt-artifact")]
    assert errs and all(d.message for d in errs), s.diagnoses.text()
    assert all(i["points"] == 0 for i in s.items.values())


def test_optional_corrupt_predictions_is_only_a_warning(tmp_path, data, handed_in):
    x, y = data
    m, h = handed_in
    qdir = _submit(tmp_path, m, h, x_test=x[300:])
    np.save(qdir / "predictions.npy", np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    s = score_question(qdir, RUBRIC, 5, PARAMS, eval_data=(x, y), reference_accuracy=0.0)
    assert s.points == 5 and any(d.code == "corrupt-artifact" and d.level == "warning" for d in s.diagnoses)


def test_real_reviews_sample(tmp_path):
    data_mod = pytest.importorskip("imdb_course.data")
    try:
        (xtr, ytr), (xte, yte) = data_mod.load_imdb(num_words=1000, source="sample", verbose=False)
    except Exception as e:   # data module still being written
        pytest.skip(f"sample data unavailable: {e}")
    xtr, ytr = data_mod.subsample(xtr, ytr, 200, seed=0)
    xte, yte = data_mod.subsample(xte, yte, 100, seed=0)
    xtr, xte = data_mod.pad(xtr, maxlen=50), data_mod.pad(xte, maxlen=50)
    params = {"NUM_WORDS": 1000, "MAXLEN": 50, "EPOCHS": 1}
    m = tiny(layers.Embedding(1000, 8), layers.SimpleRNN(4), layers.Dense(1, activation="sigmoid"), maxlen=50)
    h = m.fit(xtr, ytr, validation_split=0.2, epochs=1, verbose=0)
    assert self_check("q1", model=m, history=h, params=params, x=xte, y=yte).ok
    qdir = submit("q1", output_dir=tmp_path, model=m, history=h, x_test=xte, y_test=yte, answer={"best_epoch": 1},
                  params=params, verbose=False)
    s = score_question(qdir, RUBRIC, 2, params, eval_data=(xte, yte), reference_accuracy=0.5, predictions_x=xte)
    assert s.items["model"]["fraction"] == 1 and s.items["epochs"]["fraction"] == 1 and "wrong-model" not in s.diagnoses.codes


# --- crash diagnoses: the Keras errors of a student cell mapped to the course's codes (checks.diagnose_crash) ---

def _raised(build) -> Exception:
    "The exception a tiny Keras snippet raises (the test fails if it runs through)."
    with pytest.raises(Exception) as info: build()
    return info.value


def _fit(*ls, loss="binary_crossentropy", x=None):
    m = keras.Sequential([keras.Input((MAXLEN,)), *ls])
    m.compile("adam", loss)
    rng = np.random.default_rng(0)
    m.fit(rng.integers(1, NUM_WORDS, (16, MAXLEN)) if x is None else x, rng.integers(0, 2, 16), epochs=1, verbose=0)


CRASHES = {  # what the student wrote (also the source the grader reads), the code the course must give
    "sigmoid-two-units": ("layers.Embedding(NUM_WORDS, 8), layers.SimpleRNN(4), layers.Dense(2, activation='sigmoid')",
                          lambda: _fit(layers.Embedding(NUM_WORDS, 8), layers.SimpleRNN(4), layers.Dense(2, activation="sigmoid"))),
    "missing-return-sequences": ("layers.Embedding(NUM_WORDS, 8), layers.LSTM(4), layers.LSTM(4), layers.Dense(1)",
                                 lambda: tiny(layers.Embedding(NUM_WORDS, 8), layers.LSTM(4), layers.LSTM(4), layers.Dense(1))),
    "no-embedding": ("keras.Input((MAXLEN,)), layers.SimpleRNN(4), layers.Dense(1)",
                     lambda: tiny(layers.SimpleRNN(4), layers.Dense(1))),
    "embedding-too-small": ("layers.Embedding(10, 8), layers.SimpleRNN(4)",
                            lambda: _fit(layers.Embedding(10, 8), layers.SimpleRNN(4), layers.Dense(1, activation="sigmoid"))),
    "sequence-output": ("layers.Embedding(NUM_WORDS, 8), layers.SimpleRNN(4, return_sequences=True), layers.Dense(1)",
                        lambda: _fit(layers.Embedding(NUM_WORDS, 8), layers.SimpleRNN(4, return_sequences=True),
                                     layers.Dense(1, activation="sigmoid"))),
    "loss-output-mismatch": ("layers.Dense(1, activation='sigmoid')",
                             lambda: _fit(layers.Embedding(NUM_WORDS, 8), layers.SimpleRNN(4), layers.Dense(1, activation="sigmoid"),
                                          loss="sparse_categorical_crossentropy")),
    "unknown-argument": ("layers.Embedding(NUM_WORDS, 8, input_lenght=MAXLEN)",
                         lambda: layers.Embedding(NUM_WORDS, 8, input_lenght=MAXLEN)),
}


@pytest.mark.parametrize("code", sorted(CRASHES))
def test_real_keras_crash_is_diagnosed(code):
    "The installed Keras' own message (not a copy of it) gets the course's code and a hint: catches a reworded message."
    from imdb_course.checks import diagnose_crash
    source, build = CRASHES[code]
    e = _raised(build)
    d = diagnose_crash(type(e).__name__, str(e), source)
    assert d is not None and d.code == code and d.level == "error" and d.hint, (type(e).__name__, str(e)[-300:], d)


def test_crash_diagnosis_reaches_record_feedback_and_summary(tmp_path):
    "An executed notebook whose q1 cell crashed: the error, the record's codes, the question, the feedback page and the mistakes table all carry the diagnosis."
    import nbformat
    from types import SimpleNamespace
    from imdb_course.grading.pipeline import _explain_questions, _record_execution
    from imdb_course.records.reports import feedback_html, mistakes, summary_html
    e = _raised(CRASHES["missing-return-sequences"][1])
    build = "model = keras.Sequential([keras.Input((MAXLEN,)), layers.Embedding(NUM_WORDS, 8), layers.LSTM(4), layers.LSTM(4)])"
    cells = [nbformat.v4.new_code_cell("MAXLEN = 20", execution_count=1),
             nbformat.v4.new_code_cell(build + "\nsubmit('q1', model=model)", execution_count=2,
                                       metadata={"imdb_course": {"question": "q1"}},
                                       outputs=[nbformat.v4.new_output("error", ename=type(e).__name__, evalue=str(e), traceback=[])])]
    nb = nbformat.v4.new_notebook(cells=cells)
    ctx = SimpleNamespace(questions=["q1"], limits=SimpleNamespace(memory_mb=4096))
    record = GradeResult("a1", "ann", "ann.ipynb", max_total=2.0,
              questions={"q1": {"points": 0.0, "max_points": 2.0, "messages": ["q1: no model.keras"],
                                   "diagnoses": [{"level": "error", "code": "missing-artifact", "message": "no model.keras"}]}})
    errors, stopped = _record_execution(record, SimpleNamespace(status="errors", detail=""), nb, ctx)
    _explain_questions(record, errors, stopped, nb, ctx)
    record = GradeResult.from_dict(json.loads(json.dumps(record.to_dict())))  # as the gradebook stores and returns it
    assert record.status == "errors" and record.codes == [f"exception-{type(e).__name__}", "missing-return-sequences"]
    diag = record.errors[0]["diagnosis"]
    assert diag["code"] == "missing-return-sequences" and "return_sequences=True" in diag["hint"]
    assert [d["code"] for d in record.questions["q1"]["diagnoses"]] == ["missing-return-sequences", "missing-artifact"]
    page = feedback_html(record)
    assert "expected ndim=3, found ndim=2" in page and "<code>missing-return-sequences</code>" in page
    assert "Hint: set return_sequences=True on every recurrent layer except the last" in page
    m = mistakes([record]).set_index("code")
    assert m.loc["missing-return-sequences", "question"] == "q1" and "return_sequences=True" in m.loc["missing-return-sequences", "hint"]
    assert "missing-return-sequences" in summary_html([record])


def test_self_check_notices_a_run_that_learned_little():
    "Issue 24.2: 0.60 on balanced reviews is no success; the self-check says why, from the run's own curves."
    from imdb_course.checks import self_check
    y = np.array([0, 1] * 500)
    right = np.random.default_rng(0).random(1000) < 0.6  # 60 % right
    p = np.where(right, y, 1 - y).astype(float)[:, None]
    memorised = {"loss": [0.6, 0.2, 0.01], "accuracy": [0.7, 0.95, 0.998],
                 "val_loss": [0.69, 0.8, 1.1], "val_accuracy": [0.55, 0.58, 0.584]}
    d = self_check("q2", history=memorised, predictions=p, y=y, params={"EPOCHS": 3, "TRAIN_SAMPLES": 5000})
    (w,) = [x for x in d if x.code == "little-learning"]
    assert w.level == "warning" and "memorises" in w.hint and "NUM_WORDS" in w.hint
    assert "accuracy" not in d.codes  # no tick for it
    good = np.where(np.random.default_rng(1).random(1000) < 0.8, y, 1 - y).astype(float)[:, None]
    assert "accuracy" in self_check("q2", predictions=good, y=y).codes
