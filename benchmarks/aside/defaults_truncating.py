"""Aside (issue 24, third round): does keeping the END of each review (`pad(..., truncating="pre")`) make 02's SimpleRNN
stacks learn reliably? The stacks are built as solutions/02_stacked.ipynb builds them (`set_seed(SEED)`, then
`stacked_rnn(1)`, `(2)`, `(3)` in that order, each trained with `train(..., seed=SEED)`), on the same reviews
(`subsample(..., seed=42)`), only the truncation (and the seed) varies. Both sides are padded the same way (train and
the 5,000 test reviews). The package's `pad` default and the grader are not touched.

usage: python benchmarks/aside/defaults_truncating.py SOURCE MAXLEN N_TRAIN OUT.jsonl [cfg ...]
  SOURCE: sample or an aclImdb archive; N_TRAIN: a number or all; cfg = truncating,seed (default: post,42 pre,42 post,43 pre,43)
"""
import json, os, sys, time
import keras
from keras import layers
from imdb_course.data import load_imdb_data, subsample, pad
from imdb_course.train import set_seed, train

SRC, MAXLEN, N_TRAIN, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
CFGS = [c.split(",") for c in (sys.argv[5:] or ["post,42", "pre,42", "post,43", "pre,43"])]
NUM_WORDS, EPOCHS, BATCH_SIZE, TEST_SAMPLES = 5_000, 3, 64, 5_000
imdb = load_imdb_data(num_words=NUM_WORDS, source=SRC, verbose=False)
x_train, y_train = subsample(imdb.x_train, imdb.y_train, None if N_TRAIN == "all" else int(N_TRAIN), seed=42)
x_test, y_test = subsample(imdb.x_test, imdb.y_test, TEST_SAMPLES, seed=42)


def stacked_rnn(n_layers, units=32):  # solutions/02_stacked.ipynb, verbatim
    model = keras.Sequential(name=f"rnn_x{n_layers}")
    model.add(keras.Input(shape=(MAXLEN,)))
    model.add(layers.Embedding(NUM_WORDS, 64, mask_zero=True))
    for i in range(n_layers):
        model.add(layers.SimpleRNN(units, return_sequences=i < n_layers - 1))
        model.add(layers.Dropout(0.3))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


for truncating, seed in CFGS:
    seed = int(seed)
    data = ((pad(x_train, maxlen=MAXLEN, truncating=truncating), y_train),
            (pad(x_test, maxlen=MAXLEN, truncating=truncating), y_test))
    set_seed(seed)
    models = {n: stacked_rnn(n) for n in (1, 2, 3)}
    for n, model in models.items():
        c0, t0 = time.process_time(), time.time()
        r = train(model, data, epochs=EPOCHS, batch_size=BATCH_SIZE, seed=seed, verbose=0)
        line = dict(source="sample" if SRC == "sample" else "full", maxlen=MAXLEN, n_train=N_TRAIN, truncating=truncating,
                    seed=seed, layers=n, test=round(float(r.test_accuracy), 3),
                    val=[round(float(v), 3) for v in r.history.val_accuracy],
                    cpu=round(time.process_time() - c0), wall=round(time.time() - t0), load=round(os.getloadavg()[0], 1))
        with open(OUT, "a") as f: print(json.dumps(line), file=f)
        print(json.dumps(line), flush=True)
