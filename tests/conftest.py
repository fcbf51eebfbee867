"""Shared pytest setup: one tokenized-data cache for the whole session, the full archive when present."""
import os, tempfile
from pathlib import Path
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Share one data cache across tests (and the notebooks they execute) unless the caller chose one.
os.environ.setdefault("IMDB_COURSE_CACHE", str(Path(tempfile.gettempdir())/"imdb-course-test-cache"))
# The gradebook MAC key of test runs: never the instructor's (imdb_course.integrity.KEY_ENV).
os.environ.setdefault("IMDB_COURSE_KEY_FILE", str(Path(tempfile.mkdtemp(prefix="imdb-course-key-"))/"gradebook.key"))

ROOT = Path(__file__).resolve().parents[1]
SHARED_ARCHIVE = ROOT.parent/"shared"/"data"/"aclImdb_labeled.tar.gz"


def full_archive():
    "Path of the full aclImdb archive: $IMDB_COURSE_DATA, else ../shared/data, else None."
    env = os.environ.get("IMDB_COURSE_DATA")
    if env and Path(env).exists(): return Path(env)
    return SHARED_ARCHIVE if SHARED_ARCHIVE.exists() else None


@pytest.fixture(scope="session")
def full_data_path():
    p = full_archive()
    if p is None:
        if os.environ.get("CI"): pytest.fail("CI must test the full data: set IMDB_COURSE_DATA to the aclImdb archive")
        pytest.skip("full aclImdb archive not available (set IMDB_COURSE_DATA)")
    return p
