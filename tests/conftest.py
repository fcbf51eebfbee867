"""Shared pytest setup: one tokenized-data cache for the whole session, the full archive when present.

Where the time of `pytest` goes (CI: 2 cores; `pytest --durations=40` shows it again): almost all of it is in a few
expensive fixtures, each built once and shared by the tests of its file; those tests are marked `slow`, so
`pytest -m "not slow"` is the quick loop (CI runs everything: the README's command is plain `pytest`).

- `graded` (tests/test_grade.py, session): the fixture class (~23 notebooks + the reference) graded with 2 workers in
  the sandbox; then test_one_worker_and_dask_same_grades (3 notebooks again, on one Dask worker),
  test_resume_after_kill, test_whole_notebook_timeout, test_package_change_stops_the_run grade small extra runs.
- `executed` (tests/test_notebooks.py, module): the five solutions and five assignments run headlessly by papermill.
- `pip_installed` / `deps_farm` (tests/test_course.py, module): a wheel built and installed into fresh venvs; then
  test_demo_from_a_pip_install_in_an_empty_folder grades the demo class (6 notebooks + the reference): minutes.
"""
import os, tempfile
from pathlib import Path
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Share one data cache across tests (and the notebooks they execute) unless the caller chose one.
os.environ.setdefault("IMDB_COURSE_CACHE", str(Path(tempfile.gettempdir())/"imdb-course-test-cache"))
# One reference run per assignment and grading parameters for the whole test run, shared by every test's output folder
# and by the pytest-xdist workers of this run (grading.refcache; the lock makes a second worker wait for the first).
os.environ.setdefault("IMDB_COURSE_REFERENCE_CACHE", str(Path(tempfile.gettempdir())/"imdb-course-test-references"/
                                                         os.environ.get("PYTEST_XDIST_TESTRUNUID", f"run-{os.getpid()}")))
# The gradebook MAC key of test runs: never the instructor's (imdb_course.records.integrity.KEY_ENV).
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


SLOW_FIXTURES = {"graded", "executed", "pip_installed", "deps_farm"}  # the expensive shared runs listed above


def pytest_collection_modifyitems(config, items):
    "Tests that need one of the expensive shared runs are `slow`: `pytest -m 'not slow'` leaves them out."
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())): item.add_marker(pytest.mark.slow)
