"""imdb_course.submit: the artifact writer (atomic, validated) and the tolerant reader the grader uses."""
import json, os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import pandas as pd
import pytest
import keras
from keras import layers

import imdb_course.submit as sub
import imdb_course.artifacts as artifacts
from imdb_course.artifacts import ARTIFACT_FILES, load_artifacts
from imdb_course.submit import submit, to_jsonable

MAXLEN = 20
PARAMS = {"NUM_WORDS": 100, "MAXLEN": MAXLEN, "EPOCHS": 1, "OUTPUT_DIR": "out"}


def approx_history(h):
    return {k: pytest.approx(v) for k, v in h.items()}


def tiny(*ls):
    m = keras.Sequential([keras.Input((MAXLEN,)), *ls])
    m.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return m


@pytest.fixture(scope="module")
def handed_in():
    rng = np.random.default_rng(1)
    x, y = rng.integers(1, 100, (200, MAXLEN)).astype("int32"), rng.integers(0, 2, 200)
    m = tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(1, activation="sigmoid"))
    h = keras.callbacks.History()   # as model.fit returns it, without paying for training
    h.set_model(m)
    h.history = {"loss": [0.71], "accuracy": [0.42], "val_loss": [0.68], "val_accuracy": [0.6]}
    return m, h, x[150:], y[150:]


def test_round_trip(tmp_path, handed_in, capsys):
    m, h, x, y = handed_in
    qdir = submit("q1", output_dir=tmp_path / "course_output", model=m, history=h, x_test=x, y_test=y,
                  answer={"best_epoch": np.int64(1), "note": "fine"}, params=PARAMS)
    assert qdir == tmp_path / "course_output" / "q1"
    assert sorted(p.name for p in qdir.iterdir()) == sorted(ARTIFACT_FILES)
    printed = capsys.readouterr().out
    assert "Handed in q1" in printed and "✓ embedding" in printed
    a = json.loads((qdir / "answer.json").read_text())
    assert a["question"] == "q1" and a["answer"] == {"best_epoch": 1, "note": "fine"} and a["params"]["EPOCHS"] == 1
    assert a["imdb_course_version"] and a["written_at"] and a["files"] == sorted(ARTIFACT_FILES)
    assert json.loads((qdir / "history.json").read_text()) == approx_history(h.history)
    art = load_artifacts(qdir)
    assert not art.missing and not art.corrupt and art.question == "q1"
    pred = m.predict(x, verbose=0)
    assert art.predictions.dtype == np.float32 and np.allclose(art.predictions, pred, atol=1e-6)
    assert np.allclose(art.model.predict(x, verbose=0), pred, atol=1e-5)
    assert art.loss == "binary_crossentropy" and art.history == approx_history(h.history)
    assert not [p for p in qdir.parent.iterdir() if p.name.startswith(".")]   # no temp folder left


@pytest.mark.parametrize("kind", ["History", "dict", "DataFrame", "Run"])
def test_history_kinds(tmp_path, handed_in, kind):
    m, h, *_ = handed_in
    df = pd.DataFrame(h.history, index=pd.RangeIndex(1, 2, name="epoch"))
    class Run: history = df   # duck-typed train.Run
    obj = {"History": h, "dict": h.history, "DataFrame": df, "Run": Run()}[kind]
    qdir = submit("q2", output_dir=tmp_path, history=obj, verbose=False)
    assert json.loads((qdir / "history.json").read_text()) == approx_history(h.history)
    assert ("model.keras" in os.listdir(qdir)) == (kind == "History")   # History keeps the handed_in model


def test_run_alias_and_globals_params(tmp_path, handed_in):
    m, h, *_ = handed_in
    ns = {"__name__": "__main__", "EPOCHS": 1, "MAXLEN": MAXLEN, "keras": keras, "model": m}
    qdir = submit("q3", output_dir=tmp_path, run=h.history, params=ns, verbose=False)
    assert json.loads((qdir / "answer.json").read_text())["params"] == {"EPOCHS": 1, "MAXLEN": MAXLEN}


def test_resubmit_replaces_whole_folder(tmp_path, handed_in):
    m, h, x, _ = handed_in
    qdir = submit("q1", output_dir=tmp_path, model=m, x_test=x, verbose=False)
    assert (qdir / "predictions.npy").exists()
    submit("q1", output_dir=tmp_path, answer={"a": 1}, verbose=False)
    assert sorted(os.listdir(qdir)) == ["answer.json"]
    assert sorted(os.listdir(tmp_path)) == ["q1"]


def test_failed_write_keeps_previous_hand_in(tmp_path, monkeypatch):
    qdir = submit("q1", output_dir=tmp_path, answer={"v": 1}, verbose=False)
    def boom(*a, **k): raise OSError("disk full")
    monkeypatch.setattr(sub, "_write_json", boom)
    with pytest.raises(OSError):
        submit("q1", output_dir=tmp_path, answer={"v": 2}, verbose=False)
    assert json.loads((qdir / "answer.json").read_text())["answer"] == {"v": 1}
    assert sorted(os.listdir(tmp_path)) == ["q1"]


@pytest.mark.parametrize("kwargs,words", [
    (dict(question="../q1", answer={}), "simple identifier"),
    (dict(question="q1", answer={"plot": object()}), "answer['plot']"),
    (dict(question="q1", answer={"runs": [{"m": keras.Sequential()}]}), "answer['runs'][0]['m']"),
    (dict(question="q1", answer={(1, 2): 3}), "JSON keys must be strings"),
    (dict(question="q1", answer=0.87), "must be a dict"),
    (dict(question="q1", model="model.keras"), "not a Keras model"),
    (dict(question="q1", history=[0.7, 0.6]), "model.fit"),
    (dict(question="q1", x_test=np.zeros((2, MAXLEN))), "pass model=..."),
    (dict(question="q1", predictions=np.zeros((3, 5, 1))), "one probability per test review"),
    (dict(question="q1"), "nothing to hand in"),
    (dict(question="q1", answer={}, output_dir=""), "OUTPUT_DIR"),
])
def test_bad_arguments_raise_with_fix(tmp_path, kwargs, words):
    kwargs.setdefault("output_dir", tmp_path)
    with pytest.raises((TypeError, ValueError)) as e:
        submit(kwargs.pop("question"), verbose=False, **kwargs)
    assert words in str(e.value)
    assert not list(tmp_path.iterdir())


def test_bad_model_never_raises(tmp_path, capsys):
    bad = tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(2, activation="sigmoid"))
    qdir = submit("q1", output_dir=tmp_path, model=bad, params=PARAMS)
    assert "✗ sigmoid-two-units" in capsys.readouterr().out and (qdir / "model.keras").exists()
    lam = tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(1), layers.Lambda(lambda t: t * 2))
    qdir = submit("q2", output_dir=tmp_path, model=lam, params=PARAMS)
    assert "unsafe-model" in capsys.readouterr().out
    assert [d["code"] for d in json.loads((qdir / "answer.json").read_text())["self_check"]].count("unsafe-model") == 1
    assert "model.keras" in load_artifacts(qdir).corrupt   # the grader refuses it too


def test_to_jsonable():
    assert to_jsonable({"a": np.float32(np.nan), "b": (1, np.bool_(True)), 3: pd.Series({"x": 1})}) == \
        {"a": None, "b": [1, True], "3": {"x": 1}}


def test_load_artifacts_tolerant(tmp_path, handed_in, monkeypatch):
    m, h, x, _ = handed_in
    assert load_artifacts(tmp_path / "nope").missing == list(ARTIFACT_FILES)
    qdir = submit("q1", output_dir=tmp_path, model=m, history=h, x_test=x, answer={"k": 1}, verbose=False)
    (qdir / "answer.json").write_text("{not json")
    (qdir / "history.json").write_text('{"loss": ["a", "b"]}')
    np.save(qdir / "predictions.npy", np.array([object()], dtype=object), allow_pickle=True)
    data = (qdir / "model.keras").read_bytes()
    (qdir / "model.keras").write_bytes(data[:100])
    art = load_artifacts(qdir)   # must not raise
    assert set(art.corrupt) == set(ARTIFACT_FILES) and art.model is None and art.answer is None
    assert "not valid JSON" in art.corrupt["answer.json"] and "zip" in art.corrupt["model.keras"]
    assert "pickle" in art.corrupt["predictions.npy"].lower() and "history['loss']" in art.corrupt["history.json"]
    text = str(art)
    assert "✗ answer.json" in text


def test_load_artifacts_refuses_oversized_and_huge_models(tmp_path, monkeypatch):
    big = tiny(layers.Embedding(100, 8), layers.SimpleRNN(4), layers.Dense(1, activation="sigmoid"))
    qdir = submit("q1", output_dir=tmp_path, model=big, answer={}, verbose=False)
    monkeypatch.setitem(artifacts.MAX_MB, "answer.json", 0)
    monkeypatch.setattr(artifacts, "MAX_MODEL_PARAMS", 500)
    art = load_artifacts(qdir)
    assert "MB allowed" in art.corrupt["answer.json"] and "declares about" in art.corrupt["model.keras"]
