"Builders, parameter counts and error messages of imdb_course.models (no training: fast)."
import re
import numpy as np
import pytest
from keras import layers

from imdb_course.models import (ARCHITECTURES, CELLS, architecture, build_model, cell_name, check_vocab,
                                model_config, layer_formula, param_breakdown, unpack_data)

KERAS_CELL = {"simple_rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}


def recurrent(model):
    "The recurrent layers of `model`, unwrapped from Bidirectional."
    return [l.forward_layer if isinstance(l, layers.Bidirectional) else l for l in model.layers
            if isinstance(l, (layers.Bidirectional, layers.RNN))]


@pytest.mark.parametrize("cell", ["simple_rnn", "rnn", "lstm", "gru", "LSTM", "SimpleRNN"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_types_and_return_sequences(cell, bidirectional):
    m = build_model(cell, units=[12, 8, 4], bidirectional=bidirectional, vocab_size=100, embedding_dim=6)
    types = [type(l) for l in m.layers]
    assert types[0] is layers.Embedding and types[-1] is layers.Dense
    assert m.layers[-1].units == 1 and m.layers[-1].activation.__name__ == "sigmoid"
    rnns = recurrent(m)
    assert [type(r) for r in rnns] == [KERAS_CELL[cell_name(cell)]] * 3
    assert [r.return_sequences for r in rnns] == [True, True, False]
    assert [r.units for r in rnns] == [12, 8, 4]
    assert all(isinstance(l, layers.Bidirectional) for l in m.layers[1:-1]) == bidirectional
    assert m.output_shape == (None, 1)
    assert m.loss == "binary_crossentropy"


def test_single_layer_and_cudnn_defaults():
    m = build_model("lstm", units=64)
    (r,) = recurrent(m)
    assert not r.return_sequences
    assert r.recurrent_dropout == 0 and not r.unroll and r.use_bias
    assert r.activation.__name__ == "tanh" and r.recurrent_activation.__name__ == "sigmoid"
    g = recurrent(build_model("gru", units=4))[0]
    assert g.reset_after and g.recurrent_dropout == 0
    assert m.count_params() > 0  # built at once, no data needed
    assert m.input_shape == (None, None)
    assert build_model(maxlen=50).input_shape == (None, 50)


def test_options_dropout_l2_mask_optimizer():
    m = build_model("gru", units=[8, 4], dropout=0.25, l2=1e-3, mask_zero=True, learning_rate=0.01, optimizer="rmsprop")
    drops = [l for l in m.layers if isinstance(l, layers.Dropout)]
    assert [d.rate for d in drops] == [0.25, 0.25]
    assert m.layers[0].mask_zero
    assert all(r.kernel_regularizer is not None for r in recurrent(m)) and m.layers[-1].kernel_regularizer is not None
    assert type(m.optimizer).__name__ == "RMSprop"
    assert float(np.asarray(m.optimizer.learning_rate)) == pytest.approx(0.01)
    assert build_model(name="my_model").name == "my_model"
    assert not any(isinstance(l, layers.Dropout) for l in build_model().layers)


def test_assignment_param_counts():
    m = build_model("simple_rnn", units=5, vocab_size=2000, embedding_dim=50)
    assert m.count_params() == 100_286
    pb = param_breakdown(m)
    assert list(pb.columns) == ["name", "type", "output_shape", "params", "trainable", "formula"]
    assert pb.params.tolist() == [100_000, 280, 6]
    assert pb.loc[pb.type == "Embedding", "params"].item() == 100_000
    assert pb.trainable.sum() == 100_286 and pb.attrs["trainable"] == 100_286 and pb.attrs["total"] == 100_286
    assert pb.formula.tolist() == ["V·d = 2000·50", "h(h+d+1) = 5·(5+50+1)", "u·(d+1) = 1·(5+1)"]
    assert pb.output_shape.tolist() == ["(None, None, 50)", "(None, 5)", "(None, 1)"]


@pytest.mark.parametrize("cell,h,d,expected", [
    ("simple_rnn", 32, 16, 32 * (32 + 16 + 1)),
    ("lstm", 32, 16, 4 * 32 * (32 + 16 + 1)),
    ("gru", 32, 16, 3 * 32 * (32 + 16 + 2)),  # Keras 3: reset_after=True
])
def test_recurrent_formulas(cell, h, d, expected):
    m = build_model(cell, units=h, vocab_size=50, embedding_dim=d)
    pb = param_breakdown(m)
    assert pb.params[1] == expected
    mb = build_model(cell, units=h, vocab_size=50, embedding_dim=d, bidirectional=True)
    pbb = param_breakdown(mb)
    assert pbb.params[1] == 2 * expected and pbb.type[1].startswith("Bidirectional(")
    assert pbb.params[2] == 2 * h + 1  # Dense on the concatenated 2h outputs
    for model in (m, mb):
        assert pb.params.sum() == m.count_params()
        for layer in model.layers: assert layer_formula(layer)[1] == layer.count_params()


def test_stacked_bidirectional_breakdown_matches_keras():
    m = build_model("lstm", units=[10, 6], bidirectional=True, dropout=0.1, vocab_size=300, embedding_dim=8)
    pb = param_breakdown(m)
    assert pb.params.sum() == m.count_params()
    assert pb.params[3] == 2 * 4 * 6 * (6 + 20 + 1)  # second layer reads the 2*10 outputs of the first


def test_architectures_registry():
    assert list(ARCHITECTURES) == ["RNN", "LSTM", "GRU", "BiRNN", "BiLSTM", "BiGRU"]
    for name, kwargs in ARCHITECTURES.items():
        d = model_config(build_model(**kwargs, units=4, vocab_size=50))
        assert d["cell"] == cell_name(kwargs["cell"])
        assert d["bidirectional"] == name.startswith("Bi")
    assert architecture("bigru") == {"cell": "gru", "bidirectional": True}
    architecture("LSTM")["cell"] = "changed"  # a copy: the registry is not modified
    assert ARCHITECTURES["LSTM"]["cell"] == "lstm"


def test_no_embedding_mistake_model():
    m = build_model("lstm", units=4, embedding=False, maxlen=20)
    assert not any(isinstance(l, layers.Embedding) for l in m.layers)
    assert m.layers[0].output.shape == (None, 20, 1)
    assert m.predict(np.array([[1, 500, 9999] + [0] * 17]), verbose=0).shape == (1, 1)
    assert model_config(m)["embedding"] is False
    with pytest.raises(ValueError, match="mask_zero=True needs the Embedding"):
        build_model(embedding=False, mask_zero=True)


@pytest.mark.parametrize("kwargs,message", [
    (dict(cell="transformer"), "unknown cell 'transformer'; use one of: simple_rnn, lstm, gru"),
    (dict(units=[]), "units=[] gives no recurrent layer"),
    (dict(units=0), "units=0 must be a positive integer"),
    (dict(units=[64, -1]), "units[1]=-1 must be a positive integer"),
    (dict(units=2.5), "units=2.5 must be a positive integer"),
    (dict(vocab_size=0), "vocab_size=0 must be a positive integer"),
    (dict(embedding_dim=0), "embedding_dim=0 must be a positive integer"),
    (dict(maxlen=-5), "maxlen=-5 must be a positive integer"),
    (dict(dropout=1.0), "dropout=1.0 must be in [0, 1)"),
    (dict(l2=-1), "l2=-1 must be >= 0"),
    (dict(optimizer="adamm"), "unknown optimizer 'adamm'; use one of adam"),
    (dict(learning_rate=0), "learning_rate=0 must be positive"),
    (dict(vocab_size=None), "vocab_size=None needs data="),
])
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_model(**kwargs)


def test_unknown_architecture():
    with pytest.raises(ValueError, match="BiLSTM"):
        architecture("BiTransformer")


def test_check_vocab_arrays_and_lists():
    x = np.array([[1, 5, 1999, 0]])
    assert check_vocab(2000, x) == 2000
    assert check_vocab(None, [[1, 2], [1, 7, 3]]) == 8
    with pytest.raises(ValueError, match="vocab_size=2000"):
        check_vocab(1999, x)
    with pytest.raises(ValueError, match="negative"):
        check_vocab(10, np.array([[1, -2]]))
    with pytest.raises(ValueError, match="differ in length"):
        unpack_data(((x, [0, 1]), None))


def test_len_word_index_bug_on_the_sample():
    "The classic Embedding(len(word_index)) mistake on the full vocabulary is caught, with the fix."
    from imdb_course.data import load_imdb_data
    d = load_imdb_data(num_words=None, source="sample", verbose=False)
    top = max(max(s) for s in d.x_train)
    assert top >= len(d.word_index)  # ids are rank + index_from: the bug is real
    with pytest.raises(ValueError, match=r"Embedding\(len\(word_index\)\) is too small") as e:
        build_model(vocab_size=len(d.word_index), units=4, data=d)
    assert "num_words" in str(e.value)
    m = build_model(vocab_size=d.vocab_size, units=4, data=d)
    assert m.layers[0].input_dim == d.vocab_size
    assert build_model(vocab_size=None, units=4, data=((d.x_train, d.y_train), (d.x_test, d.y_test))).layers[0].input_dim \
        == check_vocab(None, d)
