"""Aside (issue 24.1, second round): levers for the SimpleRNN rows, models built as 01/02 build them, trained directly.
Committed log: results/defaults_aside_levers.jsonl (written to /tmp/learn-exp/grid_<source>.jsonl).
usage: python benchmarks/aside/defaults_levers.py SOURCE "cfg;cfg;..."  (SOURCE: sample or the full archive)
cfg = kind,maxlen,n_train,opt,seed[,batch]  kind: 01 or 02-N (N SimpleRNN layers); n_train: all or a number; opt: adam, clip1 (Adam 1e-3, clipnorm 1), clip1lr5e-4, clip1lr2e-3"""
import sys, time, os, json
import keras
from keras import layers
from imdb_course.data import load_imdb_data, subsample, pad
from imdb_course.train import train, set_seed
SRC = sys.argv[1]
d = load_imdb_data(num_words=5000, source=SRC, verbose=False)
import pathlib; pathlib.Path("/tmp/learn-exp").mkdir(exist_ok=True)
LOG = open(f"/tmp/learn-exp/grid_{'sample' if SRC=='sample' else 'full'}.jsonl", "a")
def opt(o):
    if o == "adam": return "adam"
    lr = float(o.split("lr")[1]) if "lr" in o else 1e-3
    clip = float(o[4:].split("lr")[0])
    return keras.optimizers.Adam(learning_rate=lr, clipnorm=clip)
def model(kind, maxlen, o):
    if kind == "01":
        body, emb = [layers.SimpleRNN(32)], 32
    else:
        n = int(kind.split("-")[1]); body, emb = [], 64
        for i in range(n): body += [layers.SimpleRNN(32, return_sequences=i < n-1), layers.Dropout(0.3)]
    m = keras.Sequential([keras.Input(shape=(maxlen,)), layers.Embedding(5000, emb, mask_zero=True), *body, layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer=opt(o), loss="binary_crossentropy", metrics=["accuracy"]); return m
for cfg in sys.argv[2].split(";"):
    kind, maxlen, n_train, o, seed, *bs = cfg.split(","); bs = int(bs[0]) if bs else 64; maxlen, seed = int(maxlen), int(seed)
    n = None if n_train == "all" else int(n_train)
    x, y = subsample(d.x_train, d.y_train, n, seed=42); xt, yt = subsample(d.x_test, d.y_test, 5000, seed=42)
    data = ((pad(x, maxlen=maxlen), y), (pad(xt, maxlen=maxlen), yt))
    set_seed(seed); m = model(kind, maxlen, o)
    c0, t0 = time.process_time(), time.time()
    r = train(m, data, epochs=3, batch_size=bs, seed=seed, verbose=0)
    line = dict(bs=bs, kind=kind, maxlen=maxlen, n_train=n_train, opt=o, seed=seed, test=round(r.test_accuracy, 3),
                val=[round(v, 3) for v in r.history.val_accuracy], cpu=round(time.process_time()-c0), wall=round(time.time()-t0), load=round(os.getloadavg()[0],1))
    print(json.dumps(line), file=LOG, flush=True); print(json.dumps(line), flush=True)
