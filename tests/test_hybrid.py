"""imdb_course.hybrid: NBSVM, the pooled BiGRU and their blend, on the bundled sample (seconds, one core)."""
import numpy as np
import pytest

from imdb_course.hybrid import MaxMeanPooling, NBLogistic, blend, build_pooled_rnn, choose_blend_weight, rnn_predict_proba

NB_SAMPLE_MIN_ACCURACY = 0.85  # measured 0.88 on the sample (2,000 train / 1,000 test), defaults


@pytest.fixture(scope="module")
def sample_text():
    from imdb_course.data import load_imdb_text
    df = load_imdb_text("sample", verbose=False)
    tr, te = df[df.split == "train"], df[df.split == "test"]
    return tr.text.tolist(), tr.label.values, te.text.tolist(), te.label.values


@pytest.fixture(scope="module")
def sample_ids():
    from imdb_course.data import load_imdb_data
    d = load_imdb_data(num_words=2_000, maxlen=80, source="sample", verbose=False)
    return d.x_train[:300], d.y_train[:300], d.x_test[:200], d.y_test[:200]


def test_nbsvm_on_sample(sample_text):
    ttr, ytr, tte, yte = sample_text
    nb = NBLogistic().fit(ttr, ytr)
    acc = (nb.predict(tte) == yte).mean()
    assert acc >= NB_SAMPLE_MIN_ACCURACY, f"NBSVM fell to {acc:.3f} on the sample"
    p = nb.predict_proba(tte)
    assert p.shape == (len(tte), 2) and np.allclose(p.sum(1), 1)
    r = dict(zip(nb.counter_.get_feature_names_out(), nb.r_))  # naive-Bayes log-count ratio per n-gram
    assert min(r[w] for w in ("excellent", "wonderful", "great")) > 0 > max(r[w] for w in ("worst", "awful", "waste"))


def test_pooling_ignores_padding():
    pool = MaxMeanPooling()
    x = np.array([[[1., 0.], [3., -2.], [9., 9.]]], dtype="float32")
    np.testing.assert_allclose(np.asarray(pool(x, np.array([[5, 6, 0]]))), [[3., 0., 2., -1.]])


def test_rnn_trains_and_predicts_in_order(sample_ids):
    from imdb_course.train import train
    xtr, ytr, xte, yte = sample_ids
    model = build_pooled_rnn(2_000, embedding_dim=16, units=8)
    run = train(model, ((xtr, ytr), (xte, yte)), epochs=1, batch_size=64, validation_split=0.25, seed=0,
                bucketed=True, verbose=0)
    assert run.epochs == 1 and 0 <= run.test_accuracy <= 1
    p = rnn_predict_proba(model, xte, batch_size=32)
    assert p.shape == (len(xte),) and ((0 <= p) & (p <= 1)).all()
    perm = np.random.RandomState(0).permutation(len(xte))
    np.testing.assert_allclose(rnn_predict_proba(model, xte[perm], batch_size=50), p[perm], atol=1e-5)
    # same accuracy as Keras' own (bucketed) evaluation of the same reviews
    assert abs(((p >= .5) == yte).mean() - run.test_accuracy) < 0.011


def test_blend_weight_chosen_on_validation():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 2, 400)
    p_a = np.clip(y + rng.normal(0, .45, 400), 0, 1)  # two noisy, independent "models"
    p_b = np.clip(y + rng.normal(0, .45, 400), 0, 1)
    acc = lambda p: ((p >= .5) == y).mean()
    w, best = choose_blend_weight(p_a, p_b, y)
    assert 0 < w < 1 and best == acc(blend(p_a, p_b, w))
    assert best >= max(acc(p_a), acc(p_b))  # the grid holds 0 and 1: never worse than either part on validation
    assert best > max(acc(p_a), acc(p_b))   # independent errors: the average helps
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"): blend(p_a, p_b, 1.5)
