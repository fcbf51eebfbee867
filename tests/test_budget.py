"""The bundled sample and the `[grading]` budget drawn from it (issue 13: the budget must measure learning).

The accuracy side (references >= 0.70, broken models <= 0.56 under this budget) is measured by
benchmarks/bench_budget.py, too slow for a test; here: the sample is what the budget assumes, and it is read offline."""
import collections, lzma, tarfile

import numpy as np
import pytest

from imdb_course import data
from imdb_course.config import GRADING_KEYS, load_settings
from imdb_course.data import SAMPLE_PATH, SAMPLE_SHA256, load_imdb_data, sha256_file

SAMPLE_TRAIN, SAMPLE_TEST = 10_000, 2_000  # balanced: half positive in each split
MAX_BYTES = 6 * 2**20  # the package stays small (the before-stop check flags assets over 10 MB)


def test_sample_file_size_format_and_checksum():
    assert SAMPLE_PATH.name == "aclImdb_sample.tar.xz" and SAMPLE_PATH.is_file()
    assert 3 * 2**20 < SAMPLE_PATH.stat().st_size < MAX_BYTES
    assert SAMPLE_PATH.read_bytes()[:6] == b"\xfd7zXZ\x00"  # xz magic
    assert sha256_file(SAMPLE_PATH) == SAMPLE_SHA256
    assert "10,000 train / 2,000 test" in data.KNOWN_ARCHIVES[SAMPLE_SHA256]


def test_sample_members_balanced_and_documented():
    with tarfile.open(SAMPLE_PATH, "r:xz") as tar:
        names = tar.getnames()
        readme = tar.extractfile("aclImdb/README").read().decode()
    counts = collections.Counter(tuple(n.split("/")[1:3]) for n in names if n.endswith(".txt"))
    assert counts == {("train", "pos"): 5_000, ("train", "neg"): 5_000, ("test", "pos"): 1_000, ("test", "neg"): 1_000}
    assert len(names) == len(set(names)) == SAMPLE_TRAIN + SAMPLE_TEST + 1
    assert "10000 training and 2000 test reviews" in readme and "Maas" in readme


def test_sample_read_offline(monkeypatch, tmp_path):
    "`auto` without network, Keras cache or IMDB_COURSE_DATA falls back to the sample and reads it (fresh cache)."
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setattr(data, "_is_online", lambda *a, **k: False)
    monkeypatch.setattr(data, "_keras_cached", lambda: False)
    monkeypatch.setattr(data, "_memory", {})
    d = load_imdb_data(num_words=5_000, source="auto", cache=tmp_path, verbose=False)
    assert d.source.kind == "sample" and d.source.sha256 == SAMPLE_SHA256 and not d.source.cached
    assert (len(d.y_train), len(d.y_test)) == (SAMPLE_TRAIN, SAMPLE_TEST)
    assert d.y_train.mean() == 0.5 and d.y_test.mean() == 0.5
    assert max(max(x) for x in d.x_train) < 5_000 and np.median([len(x) for x in d.x_train]) > 100


def test_corrupt_sample_is_refused(monkeypatch, tmp_path):
    bad = tmp_path/"aclImdb_sample.tar.xz"
    bad.write_bytes(lzma.compress(b"not a tar"))
    monkeypatch.setattr(data, "SAMPLE_PATH", bad)
    monkeypatch.setattr(data, "_memory", {})
    with pytest.raises(data.DataError, match="fails its checksum.*reinstall"):
        data.load_corpus_from("sample", cache=tmp_path, verbose=False)


def test_grading_budget_fits_the_sample():
    "The shipped budget and the code defaults agree, and the sample holds the reviews the budget asks for."
    g = load_settings().grading
    for key in ("train_samples", "test_samples", "epochs", "maxlen", "num_words", "source"):
        assert g[key] == GRADING_KEYS[key].default, f"settings.ini [grading] {key} differs from the default"
    assert g["source"] == "sample"
    assert g["train_samples"] == SAMPLE_TRAIN  # the whole sample: fewer reviews leave SimpleRNN references near chance
    assert g["test_samples"] <= SAMPLE_TEST and g["epochs"] >= 3
