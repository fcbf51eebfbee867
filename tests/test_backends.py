"""Backend-agnostic kit: the library trains, evaluates, saves and reloads on JAX (in a subprocess, since the backend
is fixed at `import keras`)."""
import json, os, subprocess, sys, textwrap
from pathlib import Path
import numpy as np
import pytest
from imdb_course.config import backend_env, keras_backend, load_settings

ROOT = Path(__file__).resolve().parents[1]

JAX_SCRIPT = textwrap.dedent("""
    import json, sys, tempfile
    import numpy as np
    from imdb_course.data import load_imdb, pad, subsample
    from imdb_course.models import build_model
    from imdb_course.train import train, evaluate, load_model
    import jax, jax.monitoring, keras
    out = {"backend": keras.backend.backend()}
    (xa, ya), (xb, yb) = load_imdb(num_words=2000, source="sample", verbose=False)
    (xa, ya), (xb, yb) = subsample(xa, ya, 200, seed=0), subsample(xb, yb, 100, seed=0)
    data = ((pad(xa, maxlen=60), ya), (pad(xb, maxlen=60), yb))
    for bucketed in (False, True):
        model = build_model("gru", units=8, embedding_dim=8, vocab_size=2000, mask_zero=True, name=f"b{int(bucketed)}")
        run = train(model, data, epochs=1, batch_size=32, seed=0, verbose=0, bucketed=bucketed)
        ev = evaluate(model, data[1][0], data[1][1])
        path = tempfile.mkdtemp() + "/m.keras"
        model.save(path)
        again = load_model(path)
        p1 = model.predict(data[1][0][:50], verbose=0); p2 = again.predict(data[1][0][:50], verbose=0)
        out[f"bucketed={bucketed}"] = {"test_accuracy": run.test_accuracy, "eval_accuracy": ev.accuracy,
                                       "max_reload_diff": float(np.abs(p1 - p2).max()), "epochs": run.epochs}
    compiles = []  # XLA compilations: length buckets must not recompile after the first epoch
    jax.monitoring.register_event_duration_secs_listener(
        lambda name, secs, **kw: compiles.append(name) if name.endswith("backend_compile_duration") else None)
    class PerEpoch(keras.callbacks.Callback):
        def on_train_begin(self, logs=None): self.counts = []
        def on_epoch_begin(self, epoch, logs=None): self.n = len(compiles)
        def on_epoch_end(self, epoch, logs=None): self.counts.append(len(compiles) - self.n)
    per_epoch = PerEpoch()
    model = build_model("gru", units=8, embedding_dim=8, vocab_size=2000, mask_zero=True, name="b3")
    long = ((pad(xa, maxlen=120), ya), None)
    train(model, long, epochs=3, batch_size=32, seed=0, verbose=0, bucketed=True, callbacks=[per_epoch])
    out["compiles_per_epoch"] = per_epoch.counts
    print("RESULT" + json.dumps(out))
""")


def test_jax_train_evaluate_save_load():
    if os.environ.get("CI"): import jax  # noqa: F401  (CI must test both backends: the dev extra installs jax)
    else: pytest.importorskip("jax")
    env = {**os.environ, "PYTHONPATH": str(ROOT), **backend_env(environ={"KERAS_BACKEND": "jax"})}
    proc = subprocess.run([sys.executable, "-c", JAX_SCRIPT], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(next(l for l in proc.stdout.splitlines() if l.startswith("RESULT"))[6:])
    assert out["backend"] == "jax"
    for key in ("bucketed=False", "bucketed=True"):
        r = out[key]
        assert r["epochs"] == 1
        assert 0 <= r["test_accuracy"] <= 1 and 0 <= r["eval_accuracy"] <= 1
        assert r["max_reload_diff"] < 1e-5, r  # the reloaded .keras model predicts the same
    first, *later = out["compiles_per_epoch"]
    assert first > 0 and later == [0, 0], out["compiles_per_epoch"]  # each bucket shape compiles once, in epoch 1


def test_backend_choice():
    assert keras_backend(environ={"KERAS_BACKEND": "jax"}) == "jax"
    assert keras_backend(load_settings(), environ={}) in ("tensorflow", "jax")
    assert backend_env(environ={"KERAS_BACKEND": "tensorflow"})["KERAS_BACKEND"] == "tensorflow"
    with pytest.raises(ValueError, match="not supported"): keras_backend(environ={"KERAS_BACKEND": "torch"})
