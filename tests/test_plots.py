"""imdb_course.plots: figure contents (titles, lines, annotations, heatmap cells), inputs and errors."""
import json, subprocess, sys
from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from imdb_course import plots
from imdb_course.plots import (best_epoch, history_frame, plot_comparison, plot_confusion_matrix, plot_histories,
                               plot_history, plot_length_histogram, plot_sweep, review_lengths)

HIST = {"loss": [0.69, 0.45, 0.31, 0.22], "accuracy": [0.52, 0.80, 0.88, 0.92],
        "val_loss": [0.60, 0.40, 0.42, 0.50], "val_accuracy": [0.70, 0.81, 0.84, 0.83]}


def texts(ax): return [t.get_text() for t in ax.texts]


def labels(ax): return [l.get_label() for l in ax.lines if not l.get_label().startswith("_")]  # not the best-epoch line


@pytest.fixture(autouse=True)
def no_global_state():
    "Every plot leaves pyplot without open figures and rcParams untouched."
    before = dict(matplotlib.rcParams)
    yield
    assert plt.get_fignums() == [], "a plot left a figure registered with pyplot"
    after = dict(matplotlib.rcParams)
    changed = {k for k in before if before[k] != after[k]} - {"backend"}  # matplotlib resolves "auto" on first use
    assert changed == set(), f"a plot changed matplotlib.rcParams {changed}"


# ── histories ──────────────────────────────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("kind", ["dict", "keras_history", "dataframe", "run_like", "json"])
def test_history_inputs_agree(kind, tmp_path):
    h = {"dict": HIST,
         "keras_history": SimpleNamespace(history=HIST, epoch=[0, 1, 2, 3]),
         "dataframe": pd.DataFrame(HIST),
         "run_like": SimpleNamespace(history=pd.DataFrame(HIST, index=pd.RangeIndex(1, 5, name="epoch"))),
         "json": tmp_path/"history.json"}[kind]
    (tmp_path/"history.json").write_text(json.dumps(HIST))
    df = history_frame(h)
    assert list(df.index) == [1, 2, 3, 4] and list(df.columns) == list(HIST)
    assert best_epoch(h) == (2, 0.40)  # the course's best epoch: lowest validation loss


def test_plot_history_content():
    fig = plot_history(HIST, title="LSTM run")
    assert isinstance(fig, Figure) and fig.get_suptitle() == "LSTM run"
    loss_ax, acc_ax = fig.axes
    assert (loss_ax.get_title(), acc_ax.get_title()) == ("Loss", "Accuracy")
    for ax, col in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        assert labels(ax) == ["train", "validation"]
        assert list(ax.lines[0].get_ydata()) == HIST[col] and list(ax.lines[1].get_ydata()) == HIST[f"val_{col}"]
        assert list(ax.lines[0].get_xdata()) == [1, 2, 3, 4]  # epochs count from 1
    # the best epoch (lowest val_loss, 2) is starred on the loss panel, where that minimum is; the accuracy panel
    # shows the same epoch as a dotted line with its validation accuracy (not its own maximum, epoch 3)
    assert len(loss_ax.collections) == 1 and len(acc_ax.collections) == 0
    assert texts(loss_ax) == ["best epoch 2\n0.400"] and texts(acc_ax) == ["at best epoch 2: 0.810"]
    assert tuple(loss_ax.collections[0].get_offsets()[0]) == (2, 0.40)
    assert [list(l.get_xdata()) for l in acc_ax.lines if l.get_label().startswith("_")] == [[2, 2]]


def test_plot_history_monitor_and_no_validation():
    fig = plot_history(HIST, monitor="val_accuracy")  # another definition, asked for: starred on its own panel
    assert texts(fig.axes[1]) == ["best epoch 3\n0.840"] and texts(fig.axes[0]) == ["at best epoch 3: 0.420"]
    fig = plot_history({"loss": [0.7, 0.5], "accuracy": [0.5, 0.7]})
    assert [len(a.lines) for a in fig.axes] == [1, 1] and all(not a.texts and not a.collections for a in fig.axes)
    fig = plot_history({"loss": [0.7, 0.5], "val_loss": [0.6, 0.55]})  # compiled without metrics
    assert texts(fig.axes[0]) == ["best epoch 2\n0.550"] and texts(fig.axes[1]) == ["no accuracy recorded"]


def test_history_from_saved_files(tmp_path):
    (tmp_path/"q1").mkdir(); (tmp_path/"run").mkdir()
    (tmp_path/"q1"/"history.json").write_text(json.dumps(HIST))  # submit's artifact
    (tmp_path/"run"/"run.json").write_text(json.dumps({"name": "GRU", "history": {**HIST, "val_accuracy": [None] * 4}}))
    assert history_frame(tmp_path/"q1").equals(history_frame(HIST))
    fig = plot_history(str(tmp_path/"run"))  # validation accuracy all null: the best epoch comes from val_loss
    assert texts(fig.axes[0]) == ["best epoch 2\n0.400"] and not fig.axes[1].collections
    assert labels(fig.axes[1]) == ["train"]


def test_history_errors():
    with pytest.raises(ValueError, match="different lengths"): history_frame({"loss": [1, 2], "val_loss": [1]})
    with pytest.raises(ValueError, match="empty"): plot_history({"loss": []})
    with pytest.raises(TypeError, match="model.fit"): plot_history(42)
    with pytest.raises(FileNotFoundError): plot_history("/nonexistent/history.json")
    with pytest.raises(ValueError, match="validation_split"): best_epoch({"loss": [1.0]})


def test_plot_history_with_real_run_record():
    train = pytest.importorskip("imdb_course.train")
    run = train.Run.from_dict({"name": "LSTM", "history": HIST})
    fig = plot_history(run)
    assert run.best_epoch == 2 and run.best_val_accuracy == 0.81
    assert texts(fig.axes[1]) == ["at best epoch 2: 0.810"]
    fig = plot_histories([run, train.Run.from_dict({"name": "GRU", "history": HIST})])
    assert labels(fig.axes[0]) == ["LSTM (best epoch 2: 0.810)", "GRU (best epoch 2: 0.810)"]


def test_plot_histories():
    runs = {"SimpleRNN": {"val_accuracy": [0.6, 0.7, 0.68]}, "LSTM": HIST, "GRU": pd.DataFrame({"val_accuracy": [0.8, 0.85]})}
    fig = plot_histories(runs)
    ax = fig.axes[0]
    assert ax.get_title() == "val_accuracy" and ax.get_ylabel() == "val_accuracy"
    # LSTM: starred at its lowest val_loss (2), not at its highest val_accuracy (3); without val_loss: the plotted metric
    assert labels(ax) == ["SimpleRNN (best epoch 2: 0.700)", "LSTM (best epoch 2: 0.810)", "GRU (best epoch 2: 0.850)"]
    assert len(ax.collections) == 3
    fig = plot_histories({"LSTM": HIST}, metric="val_loss", title="Validation loss")
    assert fig.axes[0].get_title() == "Validation loss" and labels(fig.axes[0]) == ["LSTM (best epoch 2: 0.400)"]
    with pytest.raises(ValueError, match="'SimpleRNN' has no 'loss'"): plot_histories(runs, metric="loss")
    with pytest.raises(ValueError, match="no histories"): plot_histories({})


# ── confusion matrix ───────────────────────────────────────────────────────────────────────────────────────

def test_confusion_matrix_cells():
    fig = plot_confusion_matrix(np.array([[11023, 1477], [1290, 11210]]))
    ax = fig.axes[0]
    assert texts(ax) == ["11,023\n88.2%", "1,477\n11.8%", "1,290\n10.3%", "11,210\n89.7%"]
    assert ax.get_title() == "Confusion matrix (accuracy 88.9%)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["negative", "positive"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["negative", "positive"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "share of the true class"  # colour bar


def test_confusion_matrix_from_predictions():
    y = np.array([0, 0, 0, 1, 1])
    probs = np.array([[0.2], [0.9], [0.4], [0.7], [0.1]], dtype="float32")  # model.predict output shape
    expected = ["2\n66.7%", "1\n33.3%", "1\n50.0%", "1\n50.0%"]
    assert texts(plot_confusion_matrix((y, probs)).axes[0]) == expected
    assert texts(plot_confusion_matrix(y_true=y, y_pred=(probs[:, 0] > 0.5).astype(int)).axes[0]) == expected
    fig = plot_confusion_matrix(y_true=y, y_pred=probs, threshold=0.8, labels=("neg", "pos"), title="GRU")
    assert texts(fig.axes[0])[:2] == ["2\n66.7%", "1\n33.3%"] and fig.axes[0].get_title() == "GRU (accuracy 40.0%)"
    evaluation = SimpleNamespace(confusion=np.array([[5, 0], [0, 5]]))  # train.Evaluation's attribute
    assert texts(plot_confusion_matrix(evaluation).axes[0]) == ["5\n100.0%", "0\n0.0%", "0\n0.0%", "5\n100.0%"]
    # a class that never occurs: rate 0, not a division error
    assert texts(plot_confusion_matrix([[0, 0], [2, 3]]).axes[0])[:2] == ["0\n0.0%", "0\n0.0%"]


def test_confusion_matrix_errors():
    with pytest.raises(ValueError, match="labels="): plot_confusion_matrix(np.eye(3, dtype=int))
    with pytest.raises(ValueError, match="y_pred has 2"): plot_confusion_matrix(([0, 1, 1], [0, 1]))
    with pytest.raises(ValueError, match="negative"): plot_confusion_matrix([[1, -1], [0, 2]])
    with pytest.raises(ValueError, match="y_true="): plot_confusion_matrix()


# ── comparison and sweeps ──────────────────────────────────────────────────────────────────────────────────

CMP = pd.DataFrame({"name": ["GRU", "LSTM", "RNN"], "test_accuracy": [0.87, 0.86, 0.71],
                    "sec_per_epoch": [50.0, 60.0, 20.0], "params": pd.array([400_000, 420_000, 100_000], dtype="Int64")})


def test_plot_comparison_content():
    base = pd.DataFrame({"name": ["TF-IDF + LogReg"], "test_accuracy": [0.9068], "seconds": [30.0]})
    fig = plot_comparison(pd.concat([CMP, base], ignore_index=True))
    ax = fig.axes[0]
    assert ax.get_title() == "Test accuracy vs training time" and ax.get_xlabel() == "seconds per epoch"
    assert texts(ax) == ["GRU\n87.0%", "LSTM\n86.0%", "RNN\n71.0%"]
    assert labels(ax) == ["TF-IDF + LogReg 90.7%"] and list(ax.lines[0].get_ydata()) == [0.9068, 0.9068]
    points = ax.collections[0]
    assert points.get_offsets().tolist() == [[50.0, 0.87], [60.0, 0.86], [20.0, 0.71]]
    sizes = points.get_sizes()
    assert sizes[1] > sizes[0] > sizes[2]  # marker area grows with parameters


def test_plot_comparison_errors():
    with pytest.raises(ValueError, match=r"\['sec_per_epoch'\]"): plot_comparison(CMP.drop(columns="sec_per_epoch"))
    with pytest.raises(ValueError, match=r"\['name', 'test_accuracy'\]"): plot_comparison(CMP[["sec_per_epoch"]])
    with pytest.raises(TypeError, match="DataFrame"): plot_comparison([{"name": "x"}])
    with pytest.raises(ValueError, match="best_val_accuracy"): plot_comparison(CMP.assign(test_accuracy=np.nan))


def test_plot_sweep_content():
    sw = pd.DataFrame({"maxlen": [500, 100, 200, 100, 200, 500], "test_accuracy": [0.86, 0.80, 0.84, 0.82, 0.84, 0.88],
                       "sec_per_epoch": [45, 10, 19, 11, 21, 47]})
    fig = plot_sweep(sw, "maxlen")
    ax, ax2 = fig.axes
    assert ax.get_title() == "test_accuracy vs maxlen" and ax.get_xlabel() == "maxlen"
    assert texts(ax) == ["81.0%", "84.0%", "87.0%"]  # mean over seeds, sorted by maxlen
    assert list(ax.lines[0].get_xdata()) == [100, 200, 500]
    assert ax2.get_ylabel() == "sec_per_epoch" and list(ax2.lines[0].get_ydata()) == [10.5, 20.0, 46.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["test_accuracy", "sec_per_epoch"]
    assert ax.get_xscale() == "linear"


def test_plot_sweep_options():
    sw = pd.DataFrame({"num_words": [1000, 5000, 20000, 50000], "best_val_accuracy": [0.8, 0.84, 0.86, 0.85]})
    fig = plot_sweep(sw, "num_words", metric="best_val_accuracy")  # no time column: one axis
    assert len(fig.axes) == 1 and fig.axes[0].get_xscale() == "log"  # values span 50x
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["1000", "5000", "20000", "50000"]
    cells = pd.DataFrame({"cell": ["lstm", "gru"], "test_loss": [0.35, 0.33]})  # categorical parameter
    fig = plot_sweep(cells, "cell", metric="test_loss", time_col=None)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["gru", "lstm"] and texts(fig.axes[0]) == ["0.33", "0.35"]
    with pytest.raises(ValueError, match=r"\[.units.\]"): plot_sweep(sw, "units", metric="best_val_accuracy")


# ── review lengths ─────────────────────────────────────────────────────────────────────────────────────────

def test_length_histogram_content():
    lens = np.array([50] * 60 + [150] * 25 + [400] * 15)
    fig = plot_length_histogram(lens, maxlen=200)
    ax = fig.axes[0]
    assert labels(ax) == ["median 50", "maxlen = 200"]
    assert list(ax.lines[1].get_xdata()) == [200, 200]
    assert texts(ax) == ["15.0% of reviews truncated\nat maxlen = 200"]
    assert ax.get_title() == "Review lengths (n = 100, median 50, mean 128)"
    assert sum(p.get_height() for p in ax.patches) == 100  # every review counted
    fig = plot_length_histogram(lens)  # no maxlen: median only
    assert labels(fig.axes[0]) == ["median 50"] and texts(fig.axes[0]) == []


def test_length_inputs():
    assert review_lengths(np.array([[1, 4, 5], [1, 2]], dtype=object)).tolist() == [3, 2]
    assert review_lengths(np.array([[1, 4, 0, 0], [1, 2, 3, 4]])).tolist() == [2, 4]  # padded matrix
    assert review_lengths(pd.Series(["a fine film", "dull"])).tolist() == [3, 1]
    with pytest.raises(ValueError, match="'text'"): review_lengths(pd.DataFrame({"review": ["x"]}))
    with pytest.raises(ValueError, match="no reviews"): review_lengths([])
    with pytest.raises(ValueError, match="positive"): plot_length_histogram([1, 2], maxlen=0)


def test_length_histogram_on_sample():
    from imdb_course.data import length_stats, load_imdb
    (x_train, _), _ = load_imdb(num_words=1000, source="sample", verbose=False)
    fig = plot_length_histogram(x_train, maxlen=200)
    share = length_stats(x_train, maxlen=200)["share_truncated"]
    assert texts(fig.axes[0]) == [f"{share:.1%} of reviews truncated\nat maxlen = 200"]
    assert fig.axes[0].get_title().startswith("Review lengths (n = 10,000")


# ── headless use ───────────────────────────────────────────────────────────────────────────────────────────

def test_figures_save_headless(tmp_path):
    "In a fresh process without a display every plot renders to PNG, opens no pyplot figure, keeps rcParams."
    code = f"""
import os, matplotlib
os.environ.pop("DISPLAY", None); os.environ.pop("MPLBACKEND", None)
import numpy as np, pandas as pd, matplotlib.pyplot as plt
from imdb_course import plots
rc = {{k: v for k, v in matplotlib.rcParams.items() if k != "backend"}}
figs = [plots.plot_history({HIST!r}), plots.plot_histories({{"a": {HIST!r}}}),
        plots.plot_confusion_matrix([[5, 1], [2, 4]]), plots.plot_length_histogram([5, 9, 30], maxlen=10),
        plots.plot_comparison(pd.DataFrame({{"name": ["x"], "test_accuracy": [0.8], "sec_per_epoch": [3.0]}})),
        plots.plot_sweep(pd.DataFrame({{"units": [8, 16], "test_accuracy": [0.7, 0.8]}}), "units")]
for i, f in enumerate(figs): f.savefig(r"{tmp_path}/f%d.png" % i)
assert plt.get_fignums() == [] and {{k: v for k, v in matplotlib.rcParams.items() if k != "backend"}} == rc
print("ok", matplotlib.get_backend())
"""
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok") and "agg" in out.stdout.lower()
    pngs = sorted(tmp_path.glob("f*.png"))
    assert len(pngs) == 6 and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
