"Training, Run records, evaluation, comparison and sweeps of imdb_course.train, on the bundled sample (tiny budgets)."
import json

import numpy as np
import pandas as pd
import pytest

from imdb_course.models import build_model
from imdb_course.train import (COMPARE_COLUMNS, _plan, MODEL_FILE, RUN_FILE, Run, bucket_dataset, compare, evaluate,
                               imdb_data_fn, load_model, set_seed, strip_padding, sweep, train)

NUM_WORDS = 2000


@pytest.fixture(scope="module")
def sample():
    """1,000 train / 500 test real reviews, 100 tokens each. Padded and truncated at the *front* ("pre"): the
    end of a review (its verdict) is kept and the recurrent layer reads it last, so a small GRU learns
    something in two epochs (with post padding and no mask it stays at chance on so little data)."""
    return imdb_data_fn(source="sample", num_words=NUM_WORDS, maxlen=100, train_samples=1000, test_samples=500,
                        padding="pre", truncating="pre")()


@pytest.fixture(scope="module")
def tiny(sample):
    "200 train / 100 test reviews of 30 tokens: for the table/plumbing tests, where accuracy does not matter."
    (xa, ya), (xb, yb) = sample
    return (xa[:200, -30:], ya[:200]), (xb[:100, -30:], yb[:100])


@pytest.fixture(scope="module")
def trained(sample):
    "A GRU trained for two epochs on the sample (the one slow-ish step of this file)."
    set_seed(1)
    model = build_model("gru", units=16, vocab_size=NUM_WORDS, embedding_dim=16, learning_rate=1e-2)
    run = train(model, sample, epochs=2, batch_size=32, validation_split=0.1, seed=1, verbose=0)
    return model, run


def test_sample_fixture(sample):
    (xa, ya), (xb, yb) = sample
    assert xa.shape == (1000, 100) and xb.shape == (500, 100)
    assert ya.mean() == 0.5 and xa.max() < NUM_WORDS


def test_tiny_training_beats_chance(trained):
    model, run = trained
    assert run.test_accuracy > 0.55, run  # balanced test set: chance is 0.5 (observed 0.59-0.65 over seeds)
    assert run.history.accuracy.iloc[-1] > run.history.accuracy.iloc[0]  # it learns
    assert run.history.loss.iloc[-1] < run.history.loss.iloc[0]


def test_run_fields(trained):
    model, run = trained
    assert run.name == model.name == "gru_16"
    assert list(run.history.columns) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert run.history.index.tolist() == [1, 2] and run.epochs == 2
    assert len(run.epoch_seconds) == 2 and run.seconds >= sum(run.epoch_seconds) > 0
    assert run.params == model.count_params() and run.model is model
    c = run.config
    assert (c["train_samples"], c["val_samples"], c["test_samples"], c["maxlen"]) == (900, 100, 500, 100)
    assert (c["epochs"], c["batch_size"], c["seed"], c["bucketed"]) == (2, 32, 1, False)
    assert c["model"]["cell"] == "gru" and c["model"]["units"] == [16]
    assert run.best_epoch == run.history.val_loss.idxmin()  # the course's best epoch: lowest validation loss
    assert run.best_val_accuracy == run.history.val_accuracy[run.best_epoch]
    assert 0 <= run.test_loss and 0 <= run.test_accuracy <= 1


def test_evaluate_matches_run(trained, sample):
    model, run = trained
    (_, _), (xb, yb) = sample
    ev = evaluate(model, xb, yb)
    assert ev.accuracy == pytest.approx(run.test_accuracy, abs=1e-6)
    assert ev.loss == pytest.approx(run.test_loss, abs=1e-3)
    assert ev.confusion.shape == (2, 2) and ev.confusion.sum() == 500
    assert ev.confusion.trace() == round(ev.accuracy * 500)
    assert ev.confusion[1].sum() == yb.sum()  # rows are the true labels
    assert set(ev.report) >= {"negative", "positive", "accuracy", "macro avg"}
    assert ev.report["accuracy"] == pytest.approx(ev.accuracy)
    assert "negative" in ev.report_text and "precision" in ev.report_text
    assert ev.probabilities.shape == (500,) and ev.probabilities.dtype == np.float32
    assert ev.confusion_frame.loc["positive"].sum() == yb.sum()
    json.dumps(ev.to_dict())


def test_run_json_round_trip(trained, sample, tmp_path):
    model, run = trained
    file = run.save(tmp_path/"gru", model=model)
    assert file == tmp_path/"gru"/RUN_FILE and (tmp_path/"gru"/MODEL_FILE).is_file()
    raw = json.loads(file.read_text())  # plain JSON, readable without imdb_course
    assert raw["history"]["val_accuracy"] == run.history.val_accuracy.tolist()
    back = Run.load(tmp_path/"gru")
    assert back.to_dict() == run.to_dict()
    pd.testing.assert_frame_equal(back.history, run.history)
    assert (back.name, back.test_accuracy, back.epoch_seconds, back.params) == \
           (run.name, run.test_accuracy, run.epoch_seconds, run.params)
    assert Run.load(file).to_dict() == run.to_dict() and back.model is None  # the model lives in model.keras
    again = load_model(tmp_path/"gru")
    x = sample[1][0][:20]
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_run_nan_and_missing_files(tmp_path):
    r = Run("x", history=pd.DataFrame({"loss": [1.0, float("nan")]}, index=[1, 2]))
    r.save(tmp_path)
    assert json.loads((tmp_path/RUN_FILE).read_text())["history"]["loss"] == [1.0, None]
    assert Run.load(tmp_path).history.loss.isna().tolist() == [False, True]
    assert r.best_epoch is None
    with pytest.raises(FileNotFoundError, match="Run.save"):
        Run.load(tmp_path/"nothing")
    with pytest.raises(FileNotFoundError, match="model=model"):
        load_model(tmp_path)
    with pytest.raises(ValueError, match="directory"):
        r.save(tmp_path/"run.json")


def test_progress_is_one_line_per_epoch(tiny, capsys):
    model = build_model("simple_rnn", units=4, vocab_size=NUM_WORDS, embedding_dim=4)
    train(model, tiny, epochs=2, batch_size=16, name="quick")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2, out  # no per-batch lines
    assert out[0].startswith("quick: epoch 1/2") and "val_accuracy" in out[1]
    (xa, ya), _ = tiny  # quiet, explicit validation data, no test set
    run = train(model, ((xa[:150], ya[:150]), None), epochs=1, validation_data=(xa[150:], ya[150:]), verbose=0)
    assert capsys.readouterr().out == ""
    assert run.test_accuracy is None and run.config["val_samples"] == 50 and run.config["validation_split"] == 0
    assert "val_accuracy" in run.history


def test_train_errors(tiny):
    (xa, ya), test = tiny
    model = build_model("simple_rnn", units=2, vocab_size=NUM_WORDS, embedding_dim=2)
    small = build_model("simple_rnn", units=2, vocab_size=100, embedding_dim=2)
    cases = [
        (lambda: train(small, tiny), "vocab_size=100 is too small"),
        (lambda: train(model, ((list(map(list, [[1, 2], [1, 2, 3]])), [0, 1]), None)), "imdb_course.data.pad"),
        (lambda: train(model, ((xa, ya[:-1]), None)), "differ in length"),
        (lambda: train(model, ((xa, ya + 1), None)), "0/1 labels"),
        (lambda: train(model, tiny, epochs=0), "epochs=0"),
        (lambda: train(model, tiny, batch_size=-1), "batch_size=-1"),
        (lambda: train(model, tiny, validation_split=1.5), "validation_split=1.5"),
        (lambda: train(model, tiny, verbose="loud"), "verbose='loud'"),
        (lambda: train(model, (xa, ya)), "((x_train, y_train), (x_test, y_test))"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=None) as e:
            call()
        assert message in str(e.value), (message, str(e.value))


def test_bucketing_helpers():
    x = np.array([[1, 5, 6, 0, 0], [0, 0, 1, 7, 8], [1, 2, 3, 4, 5]])
    assert [s.tolist() for s in strip_padding(x)] == [[1, 5, 6], [1, 7, 8], [1, 2, 3, 4, 5]]
    assert [s.tolist() for s in strip_padding(x, maxlen=2)] == [[1, 5], [1, 7], [1, 2]]
    seqs = [[1] + [3] * n for n in [5, 10, 70, 80, 200, 90, 3, 66]]
    ds = bucket_dataset(seqs, [0, 1] * 4, batch_size=2, sizes=(64, 128), seed=0)
    epoch1 = [(b.shape[1], b.numpy()[:, 0].tolist(), y.numpy().tolist()) for b, y in ds]
    assert sum(len(y) for _, _, y in epoch1) == 8
    assert {w for w, _, _ in epoch1} <= {64, 128, 201}  # bucket upper lengths, the last = longest review
    for b, _ in ds: assert (b.numpy()[:, 0] == 1).all()  # post padding: reviews start at column 0
    orders = {tuple(tuple(y.numpy().tolist()) for _, y in ds) for _ in range(6)}
    assert len(orders) > 1  # reshuffled and re-batched every epoch


def test_bucketed_training(tiny):
    set_seed(0)
    model = build_model("gru", units=4, vocab_size=NUM_WORDS, embedding_dim=4, mask_zero=True)
    run = train(model, tiny, epochs=1, batch_size=32, bucketed=True, seed=0, verbose=0)
    assert run.config["bucketed"] and run.config["maxlen"] is None and run.epochs == 1
    assert 0 <= run.test_accuracy <= 1 and "val_accuracy" in run.history
    with pytest.warns(UserWarning, match="mask_zero=True"):
        train(build_model("simple_rnn", units=2, vocab_size=NUM_WORDS, embedding_dim=2), tiny, epochs=1,
              bucketed=True, verbose=0, validation_split=0)


def test_compare_table(tiny, tmp_path):
    table = compare(["RNN", {"cell": "gru", "units": 3, "name": "small GRU"}], tiny, epochs=1, batch_size=32,
                    units=2, embedding_dim=4, verbose=0, save_dir=tmp_path)
    assert list(table.columns) == COMPARE_COLUMNS
    assert sorted(table.name) == ["RNN", "small GRU"]
    assert table.test_accuracy.is_monotonic_decreasing
    runs = table.attrs["runs"]
    assert set(runs) == set(table.name) and all(isinstance(r, Run) and r.model is None for r in runs.values())
    row = table.set_index("name").loc["small GRU"]
    vocab = runs["small GRU"].config["build"]["vocab_size"]  # read from the data: above every id, at most NUM_WORDS
    assert int(max(tiny[0][0].max(), tiny[1][0].max())) < vocab <= NUM_WORDS
    assert row.params == build_model("gru", units=3, embedding_dim=4, vocab_size=vocab).count_params()
    assert row.epochs == 1 and row.best_val_epoch == 1 and row.sec_per_epoch > 0
    assert runs["RNN"].config["model"]["units"] == [2] and runs["small GRU"].config["model"]["units"] == [3]
    assert (tmp_path/"small GRU"/RUN_FILE).is_file() and (tmp_path/"small GRU"/MODEL_FILE).is_file()


def test_plan_names_and_seeding(tiny):
    plan = _plan(["RNN", "rnn", {"cell": "lstm"}, {"cell": "lstm", "name": "mine"}], tiny, {"units": 3})
    assert [n for n, _ in plan] == ["RNN", "RNN_2", "lstm_3", "mine"]  # unique names, generated from the model
    assert plan[0][1] == {"units": 3, "cell": "simple_rnn"}
    set_seed(5); w1 = build_model("gru", units=3, vocab_size=50).get_weights()
    set_seed(5); w2 = build_model("gru", units=3, vocab_size=50).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    with pytest.raises(ValueError, match="non-negative"):
        set_seed(-1)


def test_compare_validates_before_training(tiny, capsys):
    with pytest.raises(ValueError, match="BiLSTM"):
        compare(["RNN", "Transformer"], tiny)
    with pytest.raises(ValueError, match="units=0"):
        compare([{"cell": "gru", "units": 0}], tiny)
    with pytest.raises(ValueError, match="vocab_size=50 is too small.*Fix: vocab_size=num_words"):
        compare(["GRU"], tiny, vocab_size=50)
    with pytest.raises(ValueError, match="configs is empty"):
        compare([], tiny)
    assert "epoch" not in capsys.readouterr().out  # nothing was trained


def test_sweep_build_parameter(tiny):
    table = sweep("units", [4, 1], tiny, config="RNN", epochs=1, batch_size=64, embedding_dim=2, verbose=0)
    assert list(table.columns) == ["units", *COMPARE_COLUMNS]
    assert table.units.tolist() == [1, 4] and table.name.tolist() == ["units=1", "units=4"]
    assert table.params.is_monotonic_increasing
    assert table.attrs["parameter"] == "units" and table.attrs["config"] == "RNN"
    assert table.attrs["runs"]["units=4"].config["model"]["units"] == [4]


def test_sweep_data_parameter():
    fn = imdb_data_fn(source="sample", num_words=500, maxlen=30, train_samples=100, test_samples=60, padding="pre", truncating="pre")
    table = sweep("num_words", [500, 100], fn, config={"cell": "simple_rnn", "units": 2}, embedding_dim=2,
                  epochs=1, verbose=0)
    assert table.num_words.tolist() == [100, 500]
    runs = table.attrs["runs"]
    assert [runs[n].config["model"]["vocab_size"] for n in table.name] == [100, 500]  # the vocabulary follows the data
    assert [runs[n].config["maxlen"] for n in table.name] == [30, 30]
    with pytest.raises(ValueError, match="data=lambda maxlen"):
        sweep("maxlen", [10, 20], fn())
    with pytest.raises(ValueError, match="values is empty"):
        sweep("units", [], fn)
