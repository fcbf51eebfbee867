"""Aside: SimpleRNN (01) on the full data, weight-init seeds 1-3, 10,000 vs all 25,000 reviews, MAXLEN 100/200.
Appends to /tmp/defaults-exp/log2.txt; committed copy: results/defaults_aside_simplernn_seeds.jsonl."""
import sys, time, os, json
import keras
from keras import layers
from imdb_course.data import load_imdb_data, subsample, pad
from imdb_course.train import train, set_seed
SRC = "/work/shared/data/aclImdb_labeled.tar.gz"
d = load_imdb_data(num_words=5000, source=SRC, verbose=False)
import pathlib; pathlib.Path("/tmp/defaults-exp").mkdir(exist_ok=True)
LOG = open("/tmp/defaults-exp/log2.txt", "a")
def go(maxlen, n_train, init_seed, epochs=3, lr=None):
    x, y = subsample(d.x_train, d.y_train, n_train, seed=42); xt, yt = subsample(d.x_test, d.y_test, 5000, seed=42)
    data = ((pad(x, maxlen=maxlen), y), (pad(xt, maxlen=maxlen), yt))
    set_seed(init_seed)
    m = keras.Sequential([keras.Input(shape=(maxlen,)), layers.Embedding(5000, 32, mask_zero=True), layers.SimpleRNN(32), layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer=keras.optimizers.Adam(lr) if lr else "adam", loss="binary_crossentropy", metrics=["accuracy"])
    c0 = time.process_time()
    r = train(m, data, epochs=epochs, batch_size=64, seed=42, verbose=0)
    line = dict(maxlen=maxlen, n_train=n_train, init=init_seed, epochs=epochs, lr=lr, test=round(r.test_accuracy, 3),
                val=[round(v, 3) for v in r.history.val_accuracy], cpu=round(time.process_time() - c0))
    print(json.dumps(line), file=LOG, flush=True)
for args in [(200, None, 1), (200, None, 2), (200, None, 3), (200, 10000, 1), (200, 10000, 2), (100, None, 1), (100, None, 2)]:
    go(*args)
