#!/usr/bin/env python3
"""Build the real sample shipped in the package: imdb_course/assets/aclImdb_sample.tar.xz.

Selection is deterministic: within each (split, label), reviews are ordered by the sha256 of their
path `split/label/<id>_<rating>.txt` and the first N are kept (5,000 per label in train, 1,000 in test:
10,000 training and 2,000 test reviews, enough for the `[grading]` budget to separate a learning model from
a broken one; see benchmarks/bench_budget.py). xz (preset 9e) keeps it at ~4.5 MB where gzip needs ~6.3 MB.
The archive itself is byte-reproducible (sorted members, zero mtimes/owners, no timestamp in the xz stream).

    python tools/make_sample.py ../shared/data/aclImdb_labeled.tar.gz

Source: Large Movie Review Dataset v1.0, Maas et al., ACL 2011 (https://ai.stanford.edu/~amaas/data/sentiment/).
After regenerating, update SAMPLE_SHA256 in nbs/api/01_data.ipynb to the printed value and re-export.
"""
import argparse, hashlib, io, lzma, re, tarfile
from pathlib import Path

PER_LABEL = {"train": 5000, "test": 1000}
OUT = Path(__file__).resolve().parents[1]/"imdb_course"/"assets"/"aclImdb_sample.tar.xz"
REVIEW = re.compile(r"aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
README = """imdb-course sample of the Large Movie Review Dataset v1.0

{n_train} training and {n_test} test reviews (balanced: half positive, half negative) selected
deterministically from the labeled reviews by tools/make_sample.py of imdb-course: within each split
and label, the reviews whose path has the smallest sha256.

Source and citation (please cite when you use the data):
  Andrew L. Maas, Raymond E. Daly, Peter T. Pham, Dan Huang, Andrew Y. Ng, and Christopher Potts. 2011.
  Learning Word Vectors for Sentiment Analysis. In Proceedings of ACL 2011, pages 142-150.
  https://ai.stanford.edu/~amaas/data/sentiment/

Layout: aclImdb/{{train,test}}/{{pos,neg}}/<id>_<rating>.txt, as in aclImdb_v1.tar.gz.
"""

def select(archive):
    chosen = {}
    with tarfile.open(archive, "r:gz") as tar:
        groups = {}
        for m in tar:  # one sequential pass: seeking back in a .gz stream re-reads it from the start
            match = m.isfile() and REVIEW.search(m.name)
            if not match: continue
            split, label, *_ = match.groups()
            rel = match.group(0)[len("aclImdb/"):]
            groups.setdefault((split, label), []).append(
                (hashlib.sha256(rel.encode()).hexdigest(), match.group(0), tar.extractfile(m).read()))
    for (split, label), items in groups.items():
        for _, name, text in sorted(items)[:PER_LABEL[split]]:
            chosen[name] = text
    return chosen

def write(chosen, out=OUT):
    n_train = sum(k.startswith("aclImdb/train/") for k in chosen)
    files = dict(chosen, **{"aclImdb/README": README.format(n_train=n_train, n_test=len(chosen) - n_train).encode()})
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name); info.size = len(files[name]); info.mtime = 0; info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(lzma.compress(raw.getvalue(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                                  preset=9 | lzma.PRESET_EXTREME))
    return hashlib.sha256(out.read_bytes()).hexdigest()

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("archive", help="aclImdb .tar.gz (e.g. ../shared/data/aclImdb_labeled.tar.gz)")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    digest = write(select(a.archive), a.out)
    print(f"{a.out}: {a.out.stat().st_size:,} bytes, sha256 {digest}")
