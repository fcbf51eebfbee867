"""A hostile submissions folder (issue 22, item 5) and CSV formula injection in every export (item 6).

A student controls the files they hand in and their names: links to the grader's files, FIFOs, sockets, folders named
`*.ipynb`, huge or deeply nested or non-UTF-8 files, names that collide with another student's. Every entry gets a row
(`invalid` with a stable code when it cannot be graded), nothing is followed or blocks, and the batch never stops.
Every CSV the kit writes puts a `'` before a cell a spreadsheet would read as a formula, and leaves numbers alone.
"""
from __future__ import annotations
import dataclasses
import csv, errno, io, json, os, socket, threading, unicodedata, warnings
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from imdb_course.grading.inspect import (MAX_NOTEBOOK_MB, GradeError, Submission, find_submissions, inspect_submission,
                                         read_submission, safe_name)
from imdb_course.instructor.grade import grade_folder
from imdb_course.grading.pipeline import grading_context
from imdb_course.records.gradebook import Gradebook, export_csv
from imdb_course.instructor.lms import export_grades, read_roster
from imdb_course.grading.result import CSV_FORMULA_START, GradeResult
from imdb_course.instructor.similarity import similarity_report

F = Path(__file__).resolve().parent/"fixtures"
SOL, SETTINGS = F/"mini_assignment"/"solutions", F/"mini_assignment"/"settings.ini"
KW = dict(solutions_dir=SOL, settings=SETTINGS, progress=False)
SECRET = "TOP-SECRET-7f3a9c1e"
NFC, NFD = unicodedata.normalize("NFC", "zoë"), unicodedata.normalize("NFD", "zoë")
assert NFC != NFD

# entry -> (student id, code); `None` id: made distinct (checked separately)
EXPECTED = {
    "link.ipynb": ("link", "invalid-symlink"),            # -> a secret file outside
    "linknb.ipynb": ("linknb", "invalid-symlink"),        # -> a real notebook outside: still never followed
    "linkdir": ("linkdir", "invalid-symlink"),            # a student folder that is a link
    "x.ipynb": ("x", "invalid-special-file"),             # a FIFO
    "sock.ipynb": ("sock", "invalid-special-file"),       # a socket
    "y.ipynb": ("y", "invalid-directory"),
    "big.ipynb": ("big", "invalid-too-large"),
    "deep.ipynb": ("deep", "invalid-too-deep"),
    "latin.ipynb": ("latin", "invalid-not-utf8"),
    "two": ("two", "invalid-several-notebooks"),
    "ada.ipynb": ("ada", "invalid-not-notebook"),
    "ada!.ipynb": (None, "invalid-not-notebook"),         # safe_name `ada` too: gets a hash suffix
    f"{NFC}.ipynb": (NFC, "invalid-not-notebook"),        # NFC keeps its id
    f"{NFD}.ipynb": (None, "invalid-not-notebook"),       # the same name in NFD: made distinct
    os.fsdecode(b"caf\xe9.ipynb"): ("caf\ufffd", "invalid-not-notebook"),  # a name that is not UTF-8: a text id
}


def _hostile_folder(base:Path) -> Path:
    "A submissions folder with one entry of every kind in EXPECTED, and a secret outside it."
    secret = base/"secret.txt"; secret.write_text(SECRET)
    outside = base/"outside"; outside.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"print('{SECRET}')")]), outside/"lab.ipynb")
    subs = base/"s"; subs.mkdir()
    os.symlink(secret, subs/"link.ipynb"); os.symlink(outside/"lab.ipynb", subs/"linknb.ipynb"); os.symlink(outside, subs/"linkdir")
    os.mkfifo(subs/"x.ipynb")
    sock = socket.socket(socket.AF_UNIX)
    cwd = os.getcwd(); os.chdir(subs)
    try: sock.bind("sock.ipynb")  # relative: a socket path is limited to 108 bytes
    finally: os.chdir(cwd)
    sock.close()  # the socket file stays
    (subs/"y.ipynb").mkdir(); (subs/"y.ipynb"/"inner.ipynb").write_text(SECRET)
    with open(subs/"big.ipynb", "wb") as f: f.truncate((MAX_NOTEBOOK_MB + 1) * 2**20)  # sparse: no disk used
    (subs/"deep.ipynb").write_text("[" * 100_000 + "]" * 100_000)  # json.loads raises RecursionError on it
    (subs/"latin.ipynb").write_bytes('{"cells": [], "café": 1}'.encode("latin-1"))
    (subs/"nobody").mkdir(); (subs/"nobody"/"hw.py").write_text("x = 1")
    (subs/"two").mkdir(); (subs/"two"/"a.ipynb").write_text("{}"); (subs/"two"/"b.ipynb").write_text("{}")
    for name in ("ada.ipynb", "ada!.ipynb", f"{NFC}.ipynb", f"{NFD}.ipynb", os.fsdecode(b"caf\xe9.ipynb")): (subs/name).write_text("{}")
    assert sorted(os.listdir(subs)) == sorted([*EXPECTED, "nobody"])  # `nobody` holds no notebook: a warning, no row
    return subs


def _in_thread(fn, timeout=120):
    "Run `fn` in a daemon thread; fail (instead of hanging the suite) when it does not return in time."
    out = {}
    def run():
        try: out["value"] = fn()
        except BaseException as e: out["error"] = e
    t = threading.Thread(target=run, daemon=True); t.start(); t.join(timeout)
    assert not t.is_alive(), f"{fn} still running after {timeout} s: something blocked (a FIFO opened?)"
    if "error" in out: raise out["error"]
    return out["value"]


def _entry(sub:Submission) -> str:
    return str(sub.path.relative_to(sub.root)).split("/")[0]


def test_every_entry_is_listed_and_inspected_without_following_or_blocking(tmp_path):
    subs = _hostile_folder(tmp_path)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always"); found = _in_thread(lambda: find_submissions(subs))
    said = [str(x.message) for x in w]
    assert sum("would share one folder name" in m for m in said) == 2 and any("holding one): nobody/" in m for m in said), said
    with warnings.catch_warnings():
        warnings.simplefilter("ignore"); again = find_submissions(subs)
    assert [s.student for s in found] == [s.student for s in again]  # stable across calls
    by_entry = {_entry(s): s for s in found}
    assert sorted(by_entry) == sorted(EXPECTED)  # every entry has exactly one row
    ids = [s.student for s in found]
    assert len(set(ids)) == len(ids) and len({safe_name(unicodedata.normalize("NFC", i)).casefold() for i in ids}) == len(ids)
    for entry, (student, code) in EXPECTED.items():
        s = by_entry[entry]
        if student is not None: assert s.student == student, (entry, s.student)
        ins = _in_thread(lambda: inspect_submission(s), 60)
        assert ins.code == code and ins.nb is None and ins.problem, (entry, ins.code, ins.problem)
        assert SECRET not in ins.problem and (ins.data is None or SECRET.encode() not in ins.data)
    bang, nfd = by_entry["ada!.ipynb"], by_entry[f"{NFD}.ipynb"]
    assert bang.renamed == "ada!" and bang.student.startswith("ada!-") and len(bang.student) == len("ada!-") + 6
    assert nfd.renamed == NFD and nfd.student.startswith(NFD + "-")
    assert "symbolic link" in by_entry["link.ipynb"].problem and "FIFO" in by_entry["x.ipynb"].problem
    assert "MB (limit 100 MB)" in inspect_submission(by_entry["big.ipynb"]).problem


@pytest.mark.filterwarnings("ignore:not graded")  # `nobody/`: checked in the test above
def test_grade_folder_records_every_entry_as_invalid_and_leaks_nothing(tmp_path):
    "End to end: no kernel runs (every entry is invalid), every entry is a gradebook row, the secret is nowhere."
    subs, out = _hostile_folder(tmp_path), tmp_path/"out"
    ctx, _ = grading_context("mini", out, solutions_dir=SOL, settings=SETTINGS)
    ref = out/"reference"/ctx.params_hash/"reference.json"  # no reference run: nothing here needs one
    ref.parent.mkdir(parents=True); ref.write_text(json.dumps({"questions": {}}))
    with pytest.warns(UserWarning, match="would share one folder name"):
        df = _in_thread(lambda: grade_folder(subs, "mini", out=out, workers=1, **KW), 600)
    (subs/"mini").mkdir()  # the parent of per-assignment folders (`init`'s layout): said, nothing graded
    with pytest.raises(GradeError, match="grade that folder"): grade_folder(subs, "mini", out=out, workers=1, **KW)
    (subs/"mini").rmdir()
    with Gradebook(out) as gb: results = {r.student: r for r in gb.results("mini")}
    assert len(df) == len(EXPECTED) == len(results) and set(df.index) == set(results)
    assert (df.status == "invalid").all() and (df.total == 0).all(), df[["status", "message"]]
    got = {(Path(r.file).relative_to(subs).parts[0]): r for r in results.values()}  # `file` is text: U+FFFD for bytes not UTF-8
    got[os.fsdecode(b"caf\xe9.ipynb")] = got.pop("caf\ufffd.ipynb")
    for entry, (student, code) in EXPECTED.items():
        r = got[entry]
        assert code in r.codes and "invalid-notebook" in r.codes and r.executed is None, (entry, r.codes)
        if student is not None: assert r.student == student
    assert "id-collision" in got["ada!.ipynb"].codes and "graded as `ada!-" in got["ada!.ipynb"].notes[0]
    assert "id-collision" not in got["ada.ipynb"].codes
    for p in out.rglob("*"):  # no byte of the secret, and no copy of the linked notebook, in anything the grader wrote
        if p.is_file(): assert SECRET.encode() not in p.read_bytes(), p
    assert not any(p.is_symlink() for p in out.rglob("*"))
    # a second run: the same ids, nothing regraded, still one row per entry
    with warnings.catch_warnings():
        warnings.simplefilter("ignore"); df2 = grade_folder(subs, "mini", out=out, workers=1, **KW)
    assert sorted(df2.index) == sorted(df.index)
    with Gradebook(out) as gb: assert len(gb.results("mini")) == len(EXPECTED)


def test_a_notebook_replaced_by_a_link_after_listing_is_not_followed(tmp_path):
    "Listed as a regular file, swapped for a link before it is read: `read_submission` opens the entry, not the target."
    subs = tmp_path/"s"; subs.mkdir(); (tmp_path/"secret.txt").write_text(SECRET)
    nbformat.write(nbformat.v4.new_notebook(), subs/"eve.ipynb")
    (sub,) = find_submissions(subs)
    (subs/"eve.ipynb").unlink(); os.symlink(tmp_path/"secret.txt", subs/"eve.ipynb")
    ins = inspect_submission(sub)
    assert ins.code == "invalid-symlink" and ins.data is None
    (subs/"eve.ipynb").unlink(); os.mkfifo(subs/"eve.ipynb")
    assert _in_thread(lambda: inspect_submission(sub), 30).code == "invalid-special-file"


def test_a_linked_student_folder_is_not_followed_below_the_submissions_folder(tmp_path):
    subs = tmp_path/"s"; (tmp_path/"real").mkdir(); subs.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), tmp_path/"real"/"lab.ipynb")
    (subs/"ann").mkdir(); nbformat.write(nbformat.v4.new_notebook(), subs/"ann"/"lab.ipynb")
    (sub,) = find_submissions(subs)
    assert sub.student == "ann" and sub.code is None and inspect_submission(sub).problem is None
    os.rename(subs/"ann", tmp_path/"ann-old"); os.symlink(tmp_path/"real", subs/"ann")  # the folder swapped for a link
    assert inspect_submission(sub).code == "invalid-symlink"


def test_unreadable_file_is_invalid(tmp_path, monkeypatch):
    "chmod 000 does not stop root: the permission error is simulated where the reader opens the file."
    f = tmp_path/"ann.ipynb"; f.write_text("{}")
    real_open = os.open
    def deny(path, flags, *a, **k):
        if path == "ann.ipynb": raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *a, **k)
    monkeypatch.setattr(os, "open", deny)
    r = read_submission(f)
    assert r.code == "invalid-unreadable" and "no permission" in r.problem and r.data is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_invalid_for_real(tmp_path):
    f = tmp_path/"ann.ipynb"; f.write_text("{}"); f.chmod(0)
    assert read_submission(f).code == "invalid-unreadable"


def test_size_bound(tmp_path):
    "Over the bound: refused before a byte is read (the read itself stops at the bound too, should the file grow)."
    f = tmp_path/"a.ipynb"; f.write_bytes(b" " * 3000)
    assert read_submission(f, limit_mb=4000 / 2**20).data is not None
    assert read_submission(f, limit_mb=2000 / 2**20).code == "invalid-too-large"


# ------------------------------------------------------------------ CSV injection (item 6)

HOSTILE_IDS = ["=2+3", "@SUM(1+9)", "-2+3+cmd", "+cmd|' -C calc'!A0"]
EVERYWHERE = HOSTILE_IDS + ["\tTAB", "\rCR"]  # roster ids are stripped, so tab and CR starts are checked without a roster
NEUTRAL = {"\rCR": "'\nCR"}  # a CR becomes a line break: quoted, it cannot start a row of its own


def _result(student, pts, assignment="01_epochs"):
    qs = {q: {"points": p, "max_points": m, "messages": [], "diagnoses": []} for q, p, m in zip(["q1", "q2"], pts, [2.0, 3.0])}
    return GradeResult(assignment, student, f"/gone/{student}.ipynb", status="ok", questions=qs, total=float(sum(pts)), max_total=5.0)


def _cells(path:Path) -> list[str]:
    with open(path, newline="") as f: return [c for row in csv.reader(f) for c in row]  # newline="": a CR in a cell stays


def _assert_safe(path:Path, hostile:list, numbers=("-1.5",)):
    "No cell starts like a formula unless it is a plain number; each hostile string is there, neutralised; numbers intact."
    cells = _cells(path)
    for c in cells:
        if c.startswith(CSV_FORMULA_START):
            try: float(c)
            except ValueError: raise AssertionError(f"{path.name}: cell {c!r} would be read as a formula") from None
    for h in hostile: assert NEUTRAL.get(h, "'" + h) in cells, (path.name, h, cells)
    for n in numbers: assert n in cells, (path.name, n, cells)


def _gradebook(out:Path, students:list):
    with Gradebook(out) as gb:
        run = gb.start_run("01_epochs", "h", {})
        for i, s in enumerate(students): gb.record(_result(s, [2.0, -1.5] if i == 0 else [1.0, 2.0]), run)


@pytest.fixture
def hostile_course(tmp_path):
    "A gradebook of hostile ids (the first one with -1.5 points on q2), and a roster whose names and SIS ids are hostile too."
    _gradebook(tmp_path/"grading", HOSTILE_IDS)
    names = ['=HYPERLINK("http://evil")', "@me", "-x", "+y\r=1+1"]
    roster = pd.DataFrame({"student": HOSTILE_IDS, "name": names, "email": [f"s{i}@uni.edu" for i in range(4)],
                           "lms_id": ["1", "2", "3", "4"], "sis_id": ["-5", "S-2", "S-3", "=S4"], "sis_login": HOSTILE_IDS,
                           "section": ["Mon"] * 4})
    with open(tmp_path/"roster.csv", "w", newline="") as f:  # CRLF rows: the CR inside a name is quoted
        roster.to_csv(f, index=False, lineterminator="\r\n")
    assert read_roster(tmp_path/"roster.csv").loc["-2+3+cmd", "name"] == "-x"
    (tmp_path/"settings.ini").write_text("[assignment.01_epochs]\ntitle = Epochs\npoints = q1:2 q2:3\n")
    return tmp_path, names


def test_gradebook_csv_neutralises_formulas_keeps_numbers(tmp_path):
    _gradebook(tmp_path/"grading", EVERYWHERE)
    export_csv(tmp_path/"grading", tmp_path/"grades.csv")
    _assert_safe(tmp_path/"grades.csv", EVERYWHERE)
    df = pd.read_csv(tmp_path/"grades.csv")
    assert len(df) == len(EVERYWHERE)  # a CR did not split a row
    row = df[df.student == "'=2+3"].iloc[0]
    assert df.q2.dtype == float and row.q2 == -1.5 and row.total == 0.5  # numbers stay numbers
    (tmp_path/"plain.ini").write_text("[assignment.01_epochs]\npoints = q1:2 q2:3\n")
    export_grades(tmp_path/"grading", tmp_path/"plain.csv", "csv", settings=tmp_path/"plain.ini")  # the LMS `csv` format, no roster
    _assert_safe(tmp_path/"plain.csv", EVERYWHERE)


@pytest.mark.parametrize("fmt", ["canvas", "moodle", "gradescope", "csv"])
def test_lms_exports_neutralise_formulas(hostile_course, fmt):
    base, names = hostile_course
    export_grades(base/"grading", base/f"{fmt}.csv", fmt, read_roster(base/"roster.csv"), settings=base/"settings.ini", late=False)
    names = [n.replace("\r", "\n") for n in names]  # the one with a CR inside: one cell, a line break
    expect = {"canvas": names + HOSTILE_IDS + ["=S4"], "moodle": names, "gradescope": names + ["=S4"],
              "csv": HOSTILE_IDS + names}[fmt]
    _assert_safe(base/f"{fmt}.csv", expect, numbers=("0.5",) if fmt != "csv" else ("-1.5", "0.5"))
    cells = _cells(base/f"{fmt}.csv")
    assert "+y\n=1+1" not in cells and "'+y\n=1+1" in cells  # prefixed, and the CR did not start a row
    if fmt in ("canvas", "gradescope"): assert "-5" in cells  # an id that is a plain number is left as it is
    assert len(pd.read_csv(base/f"{fmt}.csv")) == 4 + (fmt == "canvas")  # one row per student (+ Canvas's points row)


def test_similarity_csv_neutralises_formulas(tmp_path):
    subs = tmp_path/"subs"; subs.mkdir()
    code = "counts = {}\nfor review in reviews:\n    for word in review:\n        counts[word] = counts.get(word, 0) + 1\n" * 3
    for s in HOSTILE_IDS:
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), subs/f"{s}.ipynb")
    os.mkfifo(subs/"pipe.ipynb"); os.symlink(tmp_path/"nowhere", subs/"link.ipynb")  # skipped, never opened
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = _in_thread(lambda: similarity_report(subs, "07_words", template=False, out=tmp_path/"sim"), 300)
    assert {"pipe", "link"} <= set(pairs.attrs["skipped"]) and "symbolic link" in pairs.attrs["skipped"]["link"]
    _assert_safe(tmp_path/"sim"/"similarity.csv", HOSTILE_IDS, numbers=())
    assert set(pd.read_csv(tmp_path/"sim"/"similarity.csv").student_a.str.lstrip("'")) <= set(HOSTILE_IDS)


def test_a_renamed_id_keeps_its_id_collision_note_through_a_dask_task(tmp_path):
    "Grading on a Dask worker (`grading.remote`: task out, result back) records `id-collision` as local grading does.\n    The round trip runs in this process (no cluster): the same functions a worker and the client call."
    from imdb_course.grading.pipeline import grade_one
    from imdb_course.grading.remote import grade_task, make_task, plan_data, receive_result
    from imdb_course.grading.isolation import package_fingerprint
    subs = tmp_path/"s"; subs.mkdir()
    for name in ("ada.ipynb", "ada!.ipynb"): (subs/name).write_text("{}")   # `{}` is read, then found not a notebook: no kernel
    with pytest.warns(UserWarning, match="would share one folder name"): found = {s.path.name: s for s in find_submissions(subs)}
    ctx, _ = grading_context("mini", tmp_path/"out", solutions_dir=SOL, settings=SETTINGS)
    ctx = dataclasses.replace(ctx, reference={})
    plan, fp = plan_data({"DATA_SOURCE": "sample"}), package_fingerprint()
    for name, renamed in [("ada!.ipynb", True), ("ada.ipynb", False)]:
        sub = found[name]
        local = grade_one(ctx, sub)
        res = grade_task(make_task(ctx, sub, plan, fp), grade=lambda c, s: grade_one(c, s))
        remote = receive_result(res, ctx, sub)
        assert remote.student == sub.student and sorted(remote.codes) == sorted(local.codes), (remote.codes, local.codes)
        assert ("id-collision" in remote.codes) == renamed and remote.notes == local.notes
        if renamed: assert remote.notes[0].startswith(f"graded as `{sub.student}`: the id `ada!`")
