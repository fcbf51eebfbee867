"""imdb_course.data: conventions, sources, cache, errors — on the bundled sample and the full archive."""
import gzip, io, os, shutil, tarfile
from pathlib import Path

import numpy as np
import pytest

from imdb_course import data
from imdb_course.data import DataError, load_imdb, load_imdb_data


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IMDB_COURSE_CACHE", str(tmp_path/"cache"))
    data._memory.clear()
    yield tmp_path/"cache"
    data._memory.clear()


def test_sample_loads_with_nothing_configured(monkeypatch, tmp_path):
    monkeypatch.delenv("IMDB_COURSE_DATA", raising=False)
    monkeypatch.chdir(tmp_path)  # no settings.ini here: documented defaults
    monkeypatch.setattr(data, "_is_online", lambda *a, **k: False)
    monkeypatch.setattr(data, "_keras_cached", lambda: False)
    d = load_imdb_data(num_words=5000)
    assert d.source.kind == "sample"
    assert (len(d.y_train), len(d.y_test)) == (10_000, 2_000)


def test_keras_conventions_on_sample():
    (xtr, ytr), (xte, yte) = load_imdb(num_words=500, source="sample", verbose=False)
    assert xtr.dtype == object and ytr.dtype.kind == "i"
    assert all(x[0] == 1 for x in xtr) and all(x[0] == 1 for x in xte)
    assert max(max(x) for x in xtr) < 500 and max(max(x) for x in xte) < 500
    assert min(min(x) for x in xtr) >= 1  # 0 is reserved for padding
    assert sum(x.count(2) for x in xtr) > 1000  # small vocabulary: many OOV marks
    assert ytr.mean() == 0.5 and yte.mean() == 0.5
    p = data.pad(xtr[:10], maxlen=300)
    assert p.shape == (10, 300) and (p[[len(x) < 300 for x in xtr[:10]], -1] == 0).all()


def test_maxlen_truncates_and_seed_shuffles():
    (a, ya), _ = load_imdb(num_words=1000, maxlen=50, source="sample", verbose=False)
    assert max(len(x) for x in a) == 50 and len(a) == 10_000
    (b, yb), _ = load_imdb(num_words=1000, maxlen=50, source="sample", seed=1, verbose=False)
    assert list(ya) != list(yb) and sorted(map(tuple, a)) == sorted(map(tuple, b))


def test_encode_decode_round_trip():
    d = load_imdb_data(num_words=None, source="sample", verbose=False)
    text = "the acting was wonderful and the story moved me"
    ids = d.encode(text)
    assert d.decode(ids) == "<START> " + text
    assert d.encode("the")[1] == 4  # "the" is the most frequent word: rank 1 + index_from 3
    assert data.decode_review(data.pad([ids], 20)[0], d.word_index) == "<START> " + text  # padding dropped
    small = load_imdb_data(num_words=20, source="sample", verbose=False)
    assert "<OOV>" in small.decode(small.encode("the acting was wonderful"))


def test_word_index_ranks_by_training_frequency():
    wi = data.get_word_index("sample")
    assert wi["the"] == 1 and sorted(wi.values())[:3] == [1, 2, 3]
    assert len(wi) == len(set(wi.values()))


def test_text_frame_matches_ids():
    df = data.load_imdb_text("sample", verbose=False)
    assert df.groupby("split").size().to_dict() == {"test": 2_000, "train": 10_000}
    assert (df.groupby("split").label.mean() == 0.5).all()  # balanced in each split
    assert df.rating.between(1, 10).all()


def test_cache_miss_then_hit_then_corrupt_rebuild(fresh_cache, capsys):
    d1 = load_imdb_data(num_words=1000, source="sample")
    assert not d1.source.cached
    files = list(fresh_cache.glob("*.npz"))
    assert len(files) == 1
    data._memory.clear()
    d2 = load_imdb_data(num_words=1000, source="sample")
    assert d2.source.cached and "(from cache)" in capsys.readouterr().out
    assert [list(x) for x in d1.x_train[:50]] == [list(x) for x in d2.x_train[:50]]
    files[0].write_bytes(files[0].read_bytes()[:5000])  # truncated: a partial write
    data._memory.clear()
    d3 = load_imdb_data(num_words=1000, source="sample")
    assert not d3.source.cached and "corrupt" in capsys.readouterr().out
    assert [list(x) for x in d3.x_train[:50]] == [list(x) for x in d1.x_train[:50]]
    data._memory.clear()
    assert load_imdb_data(num_words=1000, source="sample").source.cached  # rebuilt file is good


@pytest.mark.parametrize("kwargs, words", [
    (dict(num_words=3), "num_words"), (dict(num_words=0), "num_words"),
    (dict(maxlen=0), "maxlen"), (dict(maxlen=-5), "maxlen"),
    (dict(source="sampel"), "known source names"),
    (dict(source="/no/such/aclImdb.tar.gz"), "does not exist"),
])
def test_bad_arguments(kwargs, words):
    with pytest.raises(DataError, match=words):
        load_imdb(**{"source": "sample", **kwargs})


def test_corrupt_archive(tmp_path, fresh_cache):
    bad = tmp_path/"aclImdb_v1.tar.gz"
    bad.write_bytes(gzip.compress(b"not a tar file at all" * 100)[:300])
    with pytest.raises(DataError, match="not a readable aclImdb archive"):
        load_imdb(source=bad)


def test_wrong_layout(tmp_path, fresh_cache):
    arch = tmp_path/"wrong.tar.gz"
    with tarfile.open(arch, "w:gz") as tar:
        for name in ("reviews/pos/1_9.txt", "aclImdb/train/pos/1_9.txt"):
            info = tarfile.TarInfo(name); info.size = 4; tar.addfile(info, io.BytesIO(b"good"))
    with pytest.raises(DataError, match="does not have the aclImdb layout.*train/neg"):
        load_imdb(source=arch)


def test_extracted_directory_and_env_var(tmp_path, fresh_cache, monkeypatch):
    with tarfile.open(data.SAMPLE_PATH) as tar: tar.extractall(tmp_path, filter="data")
    monkeypatch.setenv("IMDB_COURSE_DATA", str(tmp_path/"aclImdb"))
    d = load_imdb_data(num_words=1000)
    assert d.source.kind == "dir" and len(d.y_train) == 10_000
    ref = load_imdb_data(num_words=1000, source="sample", verbose=False)
    assert [list(x) for x in d.x_test[:20]] == [list(x) for x in ref.x_test[:20]]


def test_explicit_keras_source_offline_fails_clearly(monkeypatch):
    import keras
    def offline(*a, **k): raise OSError("network unreachable")
    monkeypatch.setattr(keras.datasets.imdb, "load_data", offline)
    data._memory.pop(("keras", None), None)
    with pytest.raises(DataError, match="IMDB_COURSE_DATA"):
        load_imdb(source="keras")


def test_sample_checksum_is_verified(tmp_path, monkeypatch, fresh_cache):
    fake = tmp_path/"sample.tar.gz"
    shutil.copy(data.SAMPLE_PATH, fake)
    with open(fake, "ab") as f: f.write(b"tampered")
    monkeypatch.setattr(data, "SAMPLE_PATH", fake)
    with pytest.raises(DataError, match="checksum"):
        load_imdb(source="sample")


def test_subsample_is_stratified_and_seeded():
    (x, y), _ = load_imdb(num_words=1000, source="sample", verbose=False)
    xs, ys = data.subsample(x, y, 101, seed=3)
    assert len(xs) == 101 and abs(ys.mean() - 0.5) < 0.01
    assert [list(a) for a in data.subsample(x, y, 101, seed=3)[0]] == [list(a) for a in xs]
    with pytest.raises(DataError): data.subsample(x, y[:-1], 10)


def test_full_data(full_data_path):
    d = load_imdb_data(num_words=10_000, source=full_data_path, verbose=False)
    assert (len(d.y_train), len(d.y_test)) == (25_000, 25_000)
    assert d.y_train.mean() == 0.5 and d.y_test.mean() == 0.5
    assert d.source.verified  # checksum of the known release
    assert [w for w, _ in sorted(d.word_index.items(), key=lambda t: t[1])[:5]] == ["the", "and", "a", "of", "to"]
    assert d.encode("the")[1] == 4
    st = data.length_stats(d.x_train, maxlen=500)
    assert 170 <= st["median"] <= 180 and 225 <= st["mean"] <= 245  # the published IMDB length profile
    assert 0.05 < st["share_truncated"] < 0.12
