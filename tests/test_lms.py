"""LMS exports (imdb_course.instructor.lms) and the late policy (imdb_course.records.late): every format written from a real
gradebook, parsed back and checked column by column; roster mismatches; penalties applied at export time."""
import csv, datetime as dt, io, os, warnings
from pathlib import Path

import pandas as pd
import pytest

from imdb_course.cli import main
from imdb_course.config import SettingsError, load_settings
from imdb_course.records.gradebook import Gradebook
from imdb_course.records.late import (LateError, LatePolicy, apply_late, late_penalty, late_policy, parse_when, read_manifest,
                              submission_time)
from imdb_course.instructor.lms import RosterError, export_grades, read_roster
from imdb_course.grading.result import GradeResult

DUE = "2026-12-15T23:59+01:00"


def result(student, pts, assignment="01_epochs", file=None):
    "A stored result the way imdb_course.grading records it (only the fields exports read)."
    qs = {q: {"points": p, "max_points": m, "messages": [], "diagnoses": []}
          for q, p, m in zip(["q1", "q2", "q3"], pts, [2.0, 3.0, 3.0])}
    return GradeResult(assignment, student, str(file or f"/gone/{student}.ipynb"), status="ok", questions=qs,
                       total=float(sum(pts)), max_total=8.0)


@pytest.fixture
def course(tmp_path):
    "A grading folder with three graded students, a roster of four (dee never submitted), settings with a due date."
    out = tmp_path/"grading"
    with Gradebook(out) as gb:
        run = gb.start_run("01_epochs", "h", {})
        for r in [result("ada", [2, 3, 3]), result("ben", [1, 2, 0]), result("cy", [2, 1.5, 3])]: gb.record(r, run)
    (tmp_path/"roster.csv").write_text(
        "student,name,email,lms_id,sis_id,sis_login,section,extra\n"
        'ada,"Lovelace, Ada",ada@uni.edu,1001,S-1,ada,Mon,x\n'
        'ben,"Ben Okri",ben@uni.edu,1002,S-2,ben,Tue,x\n'
        'cy,"Cy Twombly",cy@uni.edu,1003,S-3,cy,Mon,x\n'
        'dee,"Dee Dee",dee@uni.edu,1004,S-4,dee,Tue,x\n')
    (tmp_path/"settings.ini").write_text(
        "[assignment.01_epochs]\ntitle = Reviews and epochs\npoints = q1:2 q2:3 q3:3\n"
        f"due = {DUE}\ngrace = 15min\nlate_penalty_per_day = 10%\nlate_cap = 50%\n")
    (tmp_path/"manifest.csv").write_text(
        "student,submitted_at,extension_days\n"
        "ada,2026-12-15T20:00+01:00,\n"          # on time
        "ben,2026-12-16T10:00+01:00,\n"          # 10 h 1 min late: -10 % of 8 = -0.8
        "cy,2026-12-17T12:00+01:00,2\n")         # late, but extended by 2 days: on time
    return tmp_path


def test_canvas_layout_and_values(course):
    ex = export_grades(course/"grading", course/"canvas.csv", "canvas", course/"roster.csv",
                       settings=course/"settings.ini", manifest=course/"manifest.csv", canvas_ids={"01_epochs": "9876"})
    rows = list(csv.reader(io.StringIO((course/"canvas.csv").read_text())))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Reviews and epochs (9876)"]
    assert rows[1][0] == "    Points Possible" and rows[1][1:5] == ["", "", "", ""] and float(rows[1][5]) == 8
    body = {r[0]: r for r in rows[2:]}
    assert body["Lovelace, Ada"][1:5] == ["1001", "S-1", "ada", "Mon"] and float(body["Lovelace, Ada"][5]) == 8
    assert float(body["Ben Okri"][5]) == pytest.approx(2.2)          # 3 raw - 0.8 late
    assert float(body["Cy Twombly"][5]) == 6.5                       # extension: no penalty
    assert body["Dee Dee"][5] == ""                                   # no submission: left empty, and said so
    assert ex.rows == 4 and any("dee" in w and "no graded submission" in w for w in ex.warnings)
    assert [s for s, _ in ex.late] == ["ben"] and "10 h 1 min late" in ex.late[0][1] and "−10 %" in ex.late[0][1]
    with Gradebook(course/"grading") as gb:                           # the gradebook keeps raw points
        assert {r.student: r.total for r in gb.results()} == {"ada": 8, "ben": 3, "cy": 6.5}


def test_canvas_without_id_makes_a_new_assignment_column(course):
    export_grades(course/"grading", course/"c.csv", "canvas", course/"roster.csv", settings=course/"settings.ini", late=False)
    header = next(csv.reader(open(course/"c.csv")))
    assert header[-1] == "Reviews and epochs"


def test_moodle_by_email_and_idnumber(course):
    export_grades(course/"grading", course/"m.csv", "moodle", course/"roster.csv", settings=course/"settings.ini",
                  manifest=course/"manifest.csv")
    df = pd.read_csv(course/"m.csv", keep_default_na=False)
    assert df.columns.tolist() == ["Email address", "Full name", "Reviews and epochs", "Feedback: Reviews and epochs"]
    by = df.set_index("Email address")
    assert float(by.at["ben@uni.edu", "Reviews and epochs"]) == pytest.approx(2.2)
    assert "10 h 1 min late" in by.at["ben@uni.edu", "Feedback: Reviews and epochs"]
    assert by.at["dee@uni.edu", "Reviews and epochs"] == ""
    export_grades(course/"grading", course/"m2.csv", "moodle", course/"roster.csv", settings=course/"settings.ini",
                  late=False, moodle_key="idnumber")
    df = pd.read_csv(course/"m2.csv")
    assert df.columns.tolist() == ["ID number", "Full name", "Reviews and epochs"]
    assert df.set_index("ID number").at["S-2", "Reviews and epochs"] == 3


def test_gradescope(course):
    export_grades(course/"grading", course/"g.csv", "gradescope", course/"roster.csv", settings=course/"settings.ini",
                  manifest=course/"manifest.csv")
    df = pd.read_csv(course/"g.csv")
    assert df.columns.tolist() == ["Name", "SID", "Email", "Total Score", "Max Points"]
    assert df.set_index("Email")["Total Score"].to_dict() == pytest.approx({"ada@uni.edu": 8, "ben@uni.edu": 2.2, "cy@uni.edu": 6.5,
                                                                            "dee@uni.edu": float("nan")}, nan_ok=True)
    assert (df["Max Points"] == 8).all() and df.SID.tolist() == ["S-1", "S-2", "S-3", "S-4"]


def test_gradescope_needs_one_assignment(course):
    with Gradebook(course/"grading") as gb: gb.record(result("ada", [1, 1, 1], assignment="02_stacked"))
    with pytest.raises(ValueError, match="one assignment per file.*--assignment"):
        export_grades(course/"grading", course/"g.csv", "gradescope", course/"roster.csv", settings=course/"settings.ini", late=False)


def test_plain_csv_is_todays_export_and_grows_late_columns(course, tmp_path):
    plain = tmp_path/"plain.ini"; plain.write_text("[assignment.01_epochs]\npoints = q1:2 q2:3 q3:3\n")
    export_grades(course/"grading", course/"p.csv", "csv", settings=plain)
    df = pd.read_csv(course/"p.csv")
    assert df.columns.tolist() == ["student", "status", "q1", "q2", "q3", "total", "max_total"]
    assert df.set_index("student").loc["cy", ["q2", "total"]].tolist() == [1.5, 6.5]
    export_grades(course/"grading", course/"l.csv", "csv", course/"roster.csv", settings=course/"settings.ini",
                  manifest=course/"manifest.csv")
    df = pd.read_csv(course/"l.csv").set_index("student")
    assert {"name", "email", "raw_total", "total", "late_penalty", "late"} <= set(df.columns) and "extra" not in df.columns
    assert df.loc["ben", ["raw_total", "total", "late_penalty"]].tolist() == pytest.approx([3, 2.2, 0.8])
    assert df.at["dee", "status"] == "no submission" and df.index.tolist() == ["ada", "ben", "cy", "dee"]


def test_roster_mismatch_is_an_error_naming_students(course):
    (course/"short.csv").write_text("student,name,email,sis_id\nada,Ada,ada@uni.edu,S-1\n")
    for fmt in ("canvas", "moodle", "gradescope", "csv"):
        with pytest.raises(RosterError, match=r"2 graded student\(s\) are not in the roster: ben, cy; add a row"):
            export_grades(course/"grading", course/"x.csv", fmt, course/"short.csv", settings=course/"settings.ini", late=False)
    (course/"noemail.csv").write_text("student,name\nada,A\nben,B\ncy,C\n")
    with pytest.raises(RosterError, match="moodle identifies students by email.*ada, ben, cy"):
        export_grades(course/"grading", course/"x.csv", "moodle", course/"noemail.csv", settings=course/"settings.ini", late=False)
    with pytest.raises(RosterError, match="needs a roster"):
        export_grades(course/"grading", course/"x.csv", "canvas", settings=course/"settings.ini", late=False)
    (course/"bad.csv").write_text("id,name\n1,A\n")
    with pytest.raises(RosterError, match="no `student` column"): read_roster(course/"bad.csv")


def test_late_policy_pure_cases():
    due = parse_when(DUE)
    pol = LatePolicy(due=due, grace=dt.timedelta(minutes=15), per_day=0.1, cap=0.5)
    cases = {"early": (-dt.timedelta(hours=2), 0.0), "grace": (dt.timedelta(minutes=15), 0.0),
             "just past grace": (dt.timedelta(minutes=16), 0.1), "1.5 days": (dt.timedelta(days=1.5), 0.2),
             "capped": (dt.timedelta(days=30), 0.5)}
    for name, (delay, fraction) in cases.items():
        p = late_penalty(due + delay, pol, 8.0)
        assert (p.fraction, p.points) == pytest.approx((fraction, 8 * fraction)), name
    assert late_penalty(due + dt.timedelta(days=1.5), pol, 8.0, extension=due + dt.timedelta(days=2)).points == 0
    # an extension is counted from its own deadline
    assert late_penalty(due + dt.timedelta(days=2, hours=1), pol, 8.0, extension=due + dt.timedelta(days=2)).fraction == pytest.approx(0.1)


def test_late_settings_errors_name_key_value_and_format(tmp_path):
    ini = tmp_path/"settings.ini"
    ini.write_text("[assignment.a]\ndue = 15.12.2026 23:59\n")
    with pytest.raises(LateError, match=r"\[assignment.a\] due = '15.12.2026 23:59'.*ISO 8601.*2026-12-15T23:59\+01:00"):
        late_policy(ini, "a")
    ini.write_text("[assignment.a]\ndue = 2026-12-15T23:59\n")
    with pytest.raises(LateError, match="no UTC offset"): late_policy(ini, "a")
    ini.write_text("[assignment.a]\ndue = 2026-12-15T23:59Z\nlate_cap = no credit after 3 days\ngrace = 30\n")
    p = late_policy(ini, "a")
    assert p.zero_after == dt.timedelta(days=3) and p.grace == dt.timedelta(minutes=30)
    ini.write_text("[assignment.a]\ndeadline = 2026-12-15T23:59Z\n")
    with pytest.raises(SettingsError, match="unknown key"): load_settings(ini)
    assert late_policy(_no_due(tmp_path), "a") is None   # no due date: no policy


def _no_due(tmp_path):
    p = tmp_path/"nodue.ini"; p.write_text("[assignment.a]\ntitle = A\n"); return p


def test_submission_time_from_file_and_manifest(tmp_path):
    nb = tmp_path/"eve.ipynb"; nb.write_text("{}")
    stamp = parse_when("2026-12-16T09:00+00:00").timestamp()
    os.utime(nb, (stamp, stamp))
    when, source = submission_time(nb)
    assert when == parse_when("2026-12-16T09:00Z") and source == "file time"
    (tmp_path/"m.csv").write_text("student,submitted_at\neve,2026-12-15T12:00+01:00\n")
    assert submission_time(nb, tmp_path/"m.csv") == (parse_when("2026-12-15T12:00+01:00"), "manifest")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        other = tmp_path/"fay.ipynb"; other.write_text("{}")
        assert submission_time(other, read_manifest(tmp_path/"m.csv"))[1] == "file time"
    assert "fay is not in the manifest" in str(w[-1].message)
    with pytest.raises(LateError, match="the file .* is gone"): submission_time(tmp_path/"gone.ipynb")
    # results from the gradebook: the file's mtime when there is no manifest; `submitted_at` recorded by the grader wins
    ini = tmp_path/"s.ini"; ini.write_text(f"[assignment.01_epochs]\ndue = {DUE}\nlate_penalty_per_day = 25%\n")
    r = result("eve", [2, 3, 3], file=nb)
    assert apply_late([r], ini)[0].total == 6.0   # 09:00Z is 10:00+01, 10 h late: -25 %
    r.submitted_at, r.submitted_from = "2026-12-15T21:00+00:00", "file time"   # what the grader hook records
    late = apply_late([r], ini)[0]
    assert late.total == 8 and late.late["source"] == "grader (file time)" and r.total == 8
    (tmp_path/"m.csv").write_text("student,submitted_at\neve,2026-12-19T12:00+01:00\n")   # a manifest row overrides it
    late = apply_late([r], ini, tmp_path/"m.csv")[0]      # 3 d 12 h late: four started days, -100 % (no cap set)
    assert late.late["source"] == "manifest" and late.total == 0 and "3 d 12 h late" in late.late["note"]


def test_cli_export_formats_and_legacy_csv(course, capsys, monkeypatch):
    monkeypatch.chdir(course)
    g = str(course/"grading")
    assert main(["grades", "export", g, "--csv", "legacy.csv", "--no-late"]) == 0
    assert pd.read_csv(course/"legacy.csv").columns.tolist() == ["student", "status", "q1", "q2", "q3", "total", "max_total"]
    assert main(["grades", "export", g, "--format", "canvas", "--roster", "roster.csv", "--manifest", "manifest.csv",
                 "--settings", "settings.ini", "--canvas-id", "01_epochs", "55", "--out", "c.csv"]) == 0
    out = capsys.readouterr()
    assert "late: ben: submitted 2026-12-16 10:00 UTC+01, 10 h 1 min late" in out.out and "wrote c.csv (canvas, 4 students)" in out.out
    assert "warning: 1 roster student(s) have no graded submission: dee" in out.err
    assert next(csv.reader(open(course/"c.csv")))[-1] == "Reviews and epochs (55)"
    assert main(["grades", "export", g, "--format", "moodle", "--out", "m.csv", "--settings", "settings.ini",
                 "--manifest", "manifest.csv"]) == 2
    assert "needs a roster" in capsys.readouterr().err


def test_manifest_empty_times_are_no_time(tmp_path):
    "An empty cell in the manifest is no time (None, never NaT): the grader's time or the file's is used, and an empty\n    extension leaves the deadline alone."
    (tmp_path/"m.csv").write_text("student,submitted_at,extension_until,extension_days\n"
                                  "eve,,,\n"                                  # listed, but no time at all
                                  "fay,,2026-12-20T12:00+01:00,\n"            # only an extension
                                  "gus,2026-12-16T10:00+01:00,,\n")           # only a time
    m = read_manifest(tmp_path/"m.csv")
    for student, column in [("eve", "submitted_at"), ("eve", "extension_until"), ("eve", "extension_days"),
                            ("fay", "submitted_at"), ("gus", "extension_until"), ("gus", "extension_days")]:
        assert m.at[student, column] is None, (student, column, m.at[student, column])
    assert m.at["fay", "extension_until"] == parse_when("2026-12-20T12:00+01:00")
    nb = tmp_path/"eve.ipynb"; nb.write_text("{}")
    stamp = parse_when("2026-12-16T09:00Z").timestamp(); os.utime(nb, (stamp, stamp))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert submission_time(nb, m, "eve") == (parse_when("2026-12-16T09:00Z"), "file time")
    ini = tmp_path/"s.ini"; ini.write_text(f"[assignment.01_epochs]\ndue = {DUE}\nlate_penalty_per_day = 25%\n")
    eve, fay, gus = result("eve", [2, 3, 3], file=nb), result("fay", [2, 3, 3]), result("gus", [2, 3, 3])
    fay.submitted_at = gus.submitted_at = "2026-12-17T09:00+00:00"    # recorded by the grader
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        late = {r.student: r for r in apply_late([eve, fay, gus], ini, m)}
    assert late["eve"].late["source"] == "file time" and late["eve"].total == 6.0       # 10 h late: -25 %
    assert late["fay"].late["source"] == "grader" and late["fay"].total == 8.0         # within the extension
    assert late["fay"].late["due"] == parse_when("2026-12-20T12:00+01:00").isoformat()
    assert late["gus"].late["source"] == "manifest" and late["gus"].total == 6.0       # the due date unchanged
    assert late["gus"].late["due"] == parse_when(DUE).isoformat()
