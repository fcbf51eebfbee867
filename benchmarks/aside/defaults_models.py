"""Aside measurements for issue 24.1 (bench_defaults.md): models built as the solutions build them, trained directly.
    python benchmarks/aside/defaults_models.py SOURCE name,name,...   (SOURCE: sample or the full archive; names below)
Appends one JSON line per run to /tmp/defaults-exp/log_<source>.txt; committed copy: results/defaults_aside.jsonl."""
import sys, time, os, json, resource
import numpy as np, keras
from keras import layers
from imdb_course.data import load_imdb_data, subsample, pad
from imdb_course.train import train, set_seed
from imdb_course.hybrid import build_pooled_rnn
SRC = sys.argv[1]; which = sys.argv[2].split(",")
import pathlib; pathlib.Path("/tmp/defaults-exp").mkdir(exist_ok=True)
LOG = open(f"/tmp/defaults-exp/log_{os.path.basename(SRC)}.txt", "a")
_cache = {}
def data(maxlen, n_train=10_000, n_test=5_000, num_words=5_000, truncating="post"):
    k = num_words
    if k not in _cache: _cache[k] = load_imdb_data(num_words=num_words, source=SRC, verbose=False)
    d = _cache[k]
    x, y = subsample(d.x_train, d.y_train, n_train, seed=42); xt, yt = subsample(d.x_test, d.y_test, n_test, seed=42)
    return (pad(x, maxlen=maxlen, truncating=truncating), y), (pad(xt, maxlen=maxlen, truncating=truncating), yt)
def opt(lr=1e-3, clip=None): return keras.optimizers.Adam(learning_rate=lr, **({"clipnorm": clip} if clip else {}))
def seq(maxlen, body, name, o=None, emb=32):
    m = keras.Sequential([keras.Input(shape=(maxlen,)), layers.Embedding(5000, emb, mask_zero=True), *body, layers.Dense(1, activation="sigmoid")], name=name)
    m.compile(optimizer=o or "adam", loss="binary_crossentropy", metrics=["accuracy"]); return m
def stack(cell, n, units=32):
    out = []
    for i in range(n): out += [cell(units, return_sequences=i < n-1), layers.Dropout(0.3)]
    return out
def run(tag, model_fn, maxlen, epochs=3, **dk):
    d = data(maxlen, **dk); set_seed(42)
    c0 = time.process_time(); t0 = time.time()
    r = train(model_fn(maxlen), d, epochs=epochs, batch_size=64, seed=42, verbose=0)
    line = dict(src=os.path.basename(SRC), tag=tag, maxlen=maxlen, epochs=epochs, **{k: v for k, v in dk.items()},
                test=round(r.test_accuracy, 3), val=[round(v, 3) for v in r.history.val_accuracy],
                train=[round(v, 3) for v in r.history.accuracy], wall=round(time.time()-t0), cpu=round(time.process_time()-c0),
                load=round(os.getloadavg()[0], 1))
    print(json.dumps(line), file=LOG, flush=True); print(json.dumps(line), flush=True)
E = {
 "rnn100": lambda: run("01 SimpleRNN", lambda m: seq(m, [layers.SimpleRNN(32)], "rnn"), 100),
 "rnn200": lambda: run("01 SimpleRNN", lambda m: seq(m, [layers.SimpleRNN(32)], "rnn"), 200),
 "rnn100pre": lambda: run("01 SimpleRNN", lambda m: seq(m, [layers.SimpleRNN(32)], "rnn"), 100, truncating="pre"),
 "rnn200pre": lambda: run("01 SimpleRNN", lambda m: seq(m, [layers.SimpleRNN(32)], "rnn"), 200, truncating="pre"),
 "rnn200_20k": lambda: run("01 SimpleRNN", lambda m: seq(m, [layers.SimpleRNN(32)], "rnn"), 200, n_train=20_000),
 "rnn100_20k": lambda: run("01 SimpleRNN", lambda m: seq(m, [layers.SimpleRNN(32)], "rnn"), 100, n_train=20_000),
 "rnn200clip": lambda: run("01 SimpleRNN clip1 lr5e-4", lambda m: seq(m, [layers.SimpleRNN(32)], "rnn", opt(5e-4, 1.0)), 200),
 "rnn200e2": lambda: run("01 SimpleRNN", lambda m: seq(m, [layers.SimpleRNN(32)], "rnn"), 200, epochs=2),
 "stack3rnn200": lambda: run("02 3xSimpleRNN", lambda m: seq(m, stack(layers.SimpleRNN, 3), "s3", emb=64), 200),
 "stack3rnn100": lambda: run("02 3xSimpleRNN", lambda m: seq(m, stack(layers.SimpleRNN, 3), "s3", emb=64), 100),
 "stack3gru100": lambda: run("02 3xGRU", lambda m: seq(m, stack(layers.GRU, 3), "s3", emb=64), 100),
 "stack3gru200": lambda: run("02 3xGRU", lambda m: seq(m, stack(layers.GRU, 3), "s3", emb=64), 200),
 "stack3rnnclip100": lambda: run("02 3xSimpleRNN clip1 lr5e-4", lambda m: seq(m, stack(layers.SimpleRNN, 3), "s3", opt(5e-4, 1.0), emb=64), 100),
 "gru200": lambda: run("05 GRU32", lambda m: seq(m, [layers.GRU(32)], "gru"), 200),
 "gru400": lambda: run("05 GRU32", lambda m: seq(m, [layers.GRU(32)], "gru"), 400),
 "pool200": lambda: run("05 pooled BiGRU32 emb32", lambda m: build_pooled_rnn(5000, embedding_dim=32, units=32), 200),
 "pool400": lambda: run("05 pooled BiGRU32 emb32", lambda m: build_pooled_rnn(5000, embedding_dim=32, units=32), 400),
 "birnn200": lambda: run("04 BiRNN", lambda m: seq(m, [layers.Bidirectional(layers.SimpleRNN(32))], "birnn"), 200),
 "lstm200": lambda: run("04 LSTM", lambda m: seq(m, [layers.LSTM(32)], "lstm"), 200),
}
for w in which: E[w]()
