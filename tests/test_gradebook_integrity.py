"""Tamper evidence of the gradebook: rows edited, added or deleted behind the grader, a wrong or missing key, an older
gradebook without MACs. Fast: results are built with the Gradebook API (no notebook runs)."""
from __future__ import annotations
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from imdb_course.cli import main
from imdb_course.records.gradebook import (Gradebook, check_rows, export_csv, gradebook_key, problems_text, sign_existing, sign_rows,
                                   verify_gradebook)
from imdb_course.records.integrity import IntegrityError, KEY_ENV
from imdb_course.instructor.lms import export_grades
from imdb_course.records.gradebook import ManualScores
from imdb_course.grading.result import GradeResult


def result(student, pts, assignment="mini"):
    qs = {q: {"points": p, "max_points": 2.0, "messages": [f"{q} ok"], "diagnoses": []} for q, p in zip(["q1", "q2"], pts)}
    return GradeResult(assignment, student, f"{student}.ipynb", sha256=f"sha-{student}", params_hash="h1", status="ok",
                       questions=qs, total=float(sum(pts)), max_total=4.0)


@pytest.fixture
def book(tmp_path, monkeypatch):
    "A signed gradebook of three students, its key in a temp file."
    monkeypatch.setenv(KEY_ENV, str(tmp_path/"keys"/"gradebook.key"))
    out = tmp_path/"grading"
    with Gradebook(out) as gb:
        run = gb.start_run("mini", "h1")
        for s, pts in [("ann", [2, 2]), ("bob", [1, 0]), ("cy", [0, 2])]: gb.record(result(s, pts), run)
        gb.finish_run(run, graded=3)
    return out


def sql(out, query, *args):
    with sqlite3.connect(Path(out)/"gradebook.sqlite") as con: con.execute(query, args)


def kinds(out): return {(p["problem"], p["table"], p["student"]) for p in verify_gradebook(out)}


def test_intact_gradebook_verifies(book, capsys):
    assert verify_gradebook(book) == []
    assert main(["grades", "verify", str(book)]) == 0
    assert "OK" in capsys.readouterr().out
    assert pd.read_csv(export_csv(book, book/"g.csv")).set_index("student").loc["bob", "total"] == 1


def test_edited_total_detected_refused_and_regraded(book, capsys):
    sql(book, "UPDATE submissions SET total=4 WHERE student='bob'")
    assert kinds(book) == {("row edited", "submissions", "bob")}
    assert main(["grades", "verify", str(book)]) == 1
    assert "submissions mini/bob: row edited" in capsys.readouterr().out
    with pytest.raises(IntegrityError, match=r"(?s)mini/bob: row edited.*--force"): export_csv(book, book/"g.csv")
    for fmt in ("csv", "moodle"):
        roster = pd.DataFrame({"student": ["ann", "bob", "cy"], "email": ["a@x", "b@x", "c@x"]})
        with pytest.raises(IntegrityError, match="mini/bob"):
            export_grades(book, book/"g2.csv", fmt, roster=roster if fmt != "csv" else None, late=False)
    assert not (book/"g.csv").exists() and not (book/"g2.csv").exists()
    assert main(["grades", "export", str(book), "--out", str(book/"g3.csv"), "--no-late"]) == 2
    assert "bob" in capsys.readouterr().err
    with Gradebook(book) as gb:   # what grade_folder asks: bob is not skipped as unchanged, the others are
        with pytest.warns(UserWarning, match="mini/bob: row edited"): run = gb.start_run("mini", "h1")
        assert [s for s in ("ann", "bob", "cy") if not gb.is_current("mini", s, f"sha-{s}", "h1")] == ["bob"]
        assert "bob" in gb.runs().set_index("id").loc[run, "notes"]
        gb.record(result("bob", [1, 0]), run)   # regraded by the grader
        assert gb.is_current("mini", "bob", "sha-bob", "h1")
    assert verify_gradebook(book) == []


def test_edited_score_row_and_result_json(book):
    sql(book, "UPDATE scores SET points=2 WHERE student='cy' AND question='q1'")
    sql(book, "UPDATE submissions SET result=replace(result, '\"total\": 2.0', '\"total\": 4.0') WHERE student='cy'")
    assert kinds(book) == {("row edited", "scores", "cy"), ("row edited", "submissions", "cy")}


def test_deleted_row_detected(book):
    sql(book, "DELETE FROM scores WHERE student='bob' AND question='q2'")
    assert ("row deleted", "scores", "bob") in kinds(book)
    sql(book, "DELETE FROM submissions WHERE student='cy'"); sql(book, "DELETE FROM row_macs WHERE student='cy'")
    assert ("digest mismatch", "submissions", None) in kinds(book)
    with Gradebook(book) as gb: assert not gb.is_current("mini", "ann", "sha-ann", "h1")  # whole assignment suspect


def test_forged_row_detected(book):
    sql(book, "INSERT INTO submissions (assignment, student, status, total, max_total, result) VALUES "
              "('mini', 'mallory', 'ok', 4, 4, '{}')")
    assert kinds(book) == {("row added", "submissions", "mallory")}
    sql(book, "INSERT INTO row_macs VALUES ('submissions', 'mini', 'mallory', '[\"submissions\", \"mini\", \"mallory\"]', ?)", "0" * 64)
    assert ("row edited", "submissions", "mallory") in kinds(book)


def test_feedback_update_does_not_launder_a_changed_row(book):
    sql(book, "UPDATE submissions SET total=4 WHERE student='bob'")
    with Gradebook(book) as gb: gb.set_feedback("mini", "bob", "x.html"); gb.set_feedback("mini", "ann", "a.html")
    assert kinds(book) == {("row edited", "submissions", "bob")}


def test_wrong_key_detected(book, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, str(tmp_path/"other.key"))
    with Gradebook(tmp_path/"elsewhere") as gb: gb.record(result("zed", [1, 1]))   # makes the other key
    assert [p["problem"] for p in verify_gradebook(book)] == ["wrong key"]
    with pytest.raises(IntegrityError, match="not the key"): export_csv(book, book/"g.csv")
    with Gradebook(book) as gb, pytest.raises(IntegrityError, match=KEY_ENV): gb.record(result("bob", [2, 2]))


def test_missing_key_is_a_clear_error(book, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(KEY_ENV, str(tmp_path/"nowhere.key"))
    (found,) = verify_gradebook(book)
    assert found["problem"] == "key missing" and "nowhere.key" in problems_text([found])
    assert main(["grades", "verify", str(book)]) == 1 and "key missing" in capsys.readouterr().out
    with Gradebook(book) as gb, pytest.raises(IntegrityError, match="no gradebook key"): gb.start_run("mini", "h1")
    assert not (tmp_path/"nowhere.key").exists()


def test_older_gradebook_is_not_accepted_silently(book, capsys):
    for t in ("row_macs", "digests", "meta"): sql(book, f"DELETE FROM {t}")
    assert {p["problem"] for p in verify_gradebook(book)} == {"unsigned"}
    assert main(["grades", "verify", str(book)]) == 1
    assert "rows unsigned (older gradebook" in capsys.readouterr().out
    with pytest.raises(IntegrityError, match="--sign-existing"): export_csv(book, book/"g.csv")
    with Gradebook(book) as gb: assert not gb.is_current("mini", "ann", "sha-ann", "h1")
    assert main(["grades", "verify", str(book), "--sign-existing"]) == 0
    assert verify_gradebook(book) == [] and main(["grades", "verify", str(book)]) == 0


def test_review_tables_signed(book):
    "Hand scores and overrides of the review page are signed as written; a later write does not launder an edited row."
    with ManualScores(book) as ms:
        ms.set_manual("mini", "ann", "q3", 1, 2, "good"); ms.override("mini", "bob", "q1", 1, 2, "regraded by hand")
    assert verify_gradebook(book) == []
    sql(book, "UPDATE manual SET points=2"); sql(book, "UPDATE overrides SET new_points=5")
    with ManualScores(book) as ms:
        ms.set_manual("mini", "ann", "q4", 0, 1); ms.override("mini", "bob", "q2", 0, 1, "typo")
    assert kinds(book) == {("row edited", "manual", "ann"), ("row edited", "overrides", "bob")}
    with pytest.raises(IntegrityError, match="manual mini/ann/q3: row edited"): export_csv(book, book/"g.csv")


def test_any_table_can_be_signed(book):
    "sign_rows / check_rows work on any table with assignment and student columns."
    with sqlite3.connect(book/"gradebook.sqlite") as con:
        con.execute("CREATE TABLE notes (assignment TEXT, student TEXT, text TEXT)")
        con.executemany("INSERT INTO notes VALUES ('mini', ?, ?)", [("ann", "a"), ("bob", "b")])
        key = gradebook_key(con)
        assert {p["problem"] for p in check_rows(con, key, "notes")} == {"unsigned"}
        sign_rows(con, key, "notes", "mini")
        assert check_rows(con, key, "notes") == []
        con.execute("UPDATE notes SET text='forged' WHERE student='bob'")
        assert [(p["problem"], p["student"]) for p in check_rows(con, key, "notes")] == [("row added", "bob"), ("row deleted", "bob")]
