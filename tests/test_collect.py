"""`imdb-course collect` on downloads laid out exactly as Canvas, Moodle and nbgrader name them (the rules and their
sources are in nbs/api/instructor/05_collect.ipynb): every file ends placed, superseded or listed with a reason; the manifest reads back
with the late policy; nothing in the destination is overwritten; hostile zips write nothing outside it."""
import csv, datetime as dt, io, json, os, stat, zipfile
from pathlib import Path

import pytest

from imdb_course.cli import main
from imdb_course.instructor.collect import Limits, collect
from imdb_course.grading.inspect import find_submissions
from imdb_course.records.late import read_manifest

A = "01_epochs"


def nb(tag:str) -> bytes:
    "A small valid notebook whose one cell names who it belongs to (to check which file landed where)."
    return json.dumps({"cells": [{"cell_type": "markdown", "id": "x1", "metadata": {}, "source": tag}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def make_zip(path:Path, entries:dict) -> Path:
    "`{name: bytes}`; a value ('link', target) is a symlink member, ('raw', ZipInfo, bytes) any member."
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            if isinstance(data, tuple) and data[0] == "link":
                zi = zipfile.ZipInfo(name); zi.external_attr = (stat.S_IFLNK | 0o777) << 16; z.writestr(zi, data[1])
            else: z.writestr(name, data)
    return path


@pytest.fixture
def roster(tmp_path):
    p = tmp_path/"roster.csv"
    p.write_text("student,name,email,lms_id,sis_login\n"
                 "ada,\"Lovelace, Ada\",ada@uni.edu,101,alovelace\n"
                 "bob,Bob Builder,bob@uni.edu,102,bbuilder\n"
                 "cat,Cat Stevens,cat@uni.edu,103,cstevens\n"
                 "dan,Dan Brown,dan@uni.edu,anon_Xy12Z,dbrown\n"
                 "eve,Eve Online,eve@uni.edu,,eonline\n")
    return p


def report(c):
    with open(c.report, newline="") as fh: return list(csv.DictReader(fh))


# Canvas: lib/content_zipper.rb -- <sortable name, non-word chars removed, lower-cased>[_LATE]_<user id>_<file id>_<file name>
CANVAS = {
    "lovelaceada_101_9001_01_epochs.ipynb": nb("ada"),
    "builderbob_LATE_102_9011_01_epochs.ipynb": nb("bob right one"),     # late, two notebooks in one attempt:
    "builderbob_LATE_102_9012_scratch.ipynb": nb("bob scratch"),         #   the one named like the assignment wins
    "builderbob_LATE_102_9013_report.pdf": b"%PDF-1.4",                  # not a notebook: listed
    "stevenscat_103_text.html": b"<p>my answer</p>",                     # a text entry: listed
    "stevenscat_late_103_9020_My Notebook.ipynb": nb("cat"),             # older Canvas: lower-case 'late'
    "LATE_anon_Xy12Z_9030_01_epochs.ipynb": nb("dan (anonymous)"),       # anonymous grading
    "strangerzed_999_9040_01_epochs.ipynb": nb("zed"),                   # not in the roster: listed
    "README.txt": b"not from Canvas",                                    # follows no rule: listed
}


def test_canvas_zip(tmp_path, roster):
    z = make_zip(tmp_path/"canvas.zip", CANVAS)
    dest = tmp_path/"submissions"/A
    c = collect([z], dest, A, roster=roster)
    assert sorted(p.name for p in dest.iterdir()) == ["ada.ipynb", "bob.ipynb", "cat.ipynb", "dan.ipynb"]
    assert b"bob right one" in (dest/"bob.ipynb").read_bytes() and b"dan (anonymous)" in (dest/"dan.ipynb").read_bytes()
    rows = {r["entry"]: r for r in report(c)}
    assert set(rows) == set(CANVAS)                                        # every member has its row
    assert rows["builderbob_LATE_102_9012_scratch.ipynb"]["status"] == "superseded"
    assert "builderbob_LATE_102_9011_01_epochs.ipynb" in rows["builderbob_LATE_102_9012_scratch.ipynb"]["reason"]
    assert "named 01_epochs.ipynb" in rows["builderbob_LATE_102_9011_01_epochs.ipynb"]["reason"]   # the choice is recorded
    assert "text entry" in rows["stevenscat_103_text.html"]["reason"]
    assert "not a notebook" in rows["builderbob_LATE_102_9013_report.pdf"]["reason"]
    assert "not in the roster" in rows["strangerzed_999_9040_01_epochs.ipynb"]["reason"]
    assert "neither Canvas' nor Moodle's" in rows["README.txt"]["reason"]
    assert (rows["builderbob_LATE_102_9011_01_epochs.ipynb"]["lms_late"], rows["lovelaceada_101_9001_01_epochs.ipynb"]["lms_late"]) == ("yes", "no")
    # Canvas' zip has no times: no manifest rows, a warning naming the LATE ones
    assert len(read_manifest(c.manifest)) == 0
    assert "Canvas marked LATE: bob, cat, dan" in c.warnings[0]
    assert [s.student for s in find_submissions(dest)] == ["ada", "bob", "cat", "dan"]   # the grader reads the folder


def test_canvas_without_roster_uses_canvas_ids_and_times_fill_the_manifest(tmp_path):
    z = make_zip(tmp_path/"canvas.zip", {k: v for k, v in CANVAS.items() if "anon" not in k})
    (tmp_path/"times.csv").write_text("id,submitted_at\n101,2026-12-15T22:00:00+01:00\n102,2026-12-17T09:00:00Z\n")
    c = collect([z], tmp_path/"subs", A, times=tmp_path/"times.csv")
    assert sorted(p.stem for p in (tmp_path/"subs").iterdir()) == ["101", "102", "103", "999"]
    m = read_manifest(c.manifest)
    assert m.at["101", "submitted_at"] == dt.datetime(2026, 12, 15, 21, tzinfo=dt.timezone.utc)
    assert m.at["102", "submitted_at"] == dt.datetime(2026, 12, 17, 9, tzinfo=dt.timezone.utc)
    assert os.stat(tmp_path/"subs"/"101.ipynb").st_mtime == m.at["101", "submitted_at"].timestamp()   # file time = submission time


# Moodle: mod_assign\downloader -- clean_filename(<full name>_<participant id>)_assignsubmission_<plugin>[_]/<path>
MOODLE = {
    "Ada Lovelace_5551_assignsubmission_file/01_epochs.ipynb": nb("ada"),                 # folders (Moodle >= 4.1)
    "Bob Builder_5552_assignsubmission_file_/work/01_epochs.ipynb": nb("bob"),            # folders (Moodle 3.1-4.0)
    "Cat Stevens_5553_assignsubmission_file_01_epochs.ipynb": nb("cat"),                  # no folders
    "Dan Brown_5554_assignsubmission_onlinetext/onlinetext.html": b"<p>text</p>",         # online text: listed
    "Eve Online_5555_assignsubmission_file/a.ipynb": nb("eve a"),                         # two notebooks, neither named
    "Eve Online_5555_assignsubmission_file/b.ipynb": nb("eve b"),                         #   after the assignment: listed
    "Zed Stranger_5556_assignsubmission_file/01_epochs.ipynb": nb("zed"),                 # not in the roster: listed
    "Ada Lovelace_5551_assignsubmission_file/.ipynb_checkpoints/01_epochs-checkpoint.ipynb": nb("ada ckpt"),
}


def test_moodle_zip(tmp_path, roster):
    z = make_zip(tmp_path/"moodle.zip", MOODLE)
    c = collect([z], tmp_path/"subs", A, roster=roster)
    assert sorted(p.name for p in (tmp_path/"subs").iterdir()) == ["ada.ipynb", "bob.ipynb", "cat.ipynb"]
    assert b'"ada"' in (tmp_path/"subs"/"ada.ipynb").read_bytes()
    rows = {r["entry"]: r for r in report(c)}
    assert set(rows) == set(MOODLE)
    assert rows["Eve Online_5555_assignsubmission_file/a.ipynb"]["status"] == "unplaced"
    assert "place the right one by hand" in rows["Eve Online_5555_assignsubmission_file/b.ipynb"]["reason"]
    assert "onlinetext" in rows["Dan Brown_5554_assignsubmission_onlinetext/onlinetext.html"]["reason"]
    assert "not in the roster" in rows["Zed Stranger_5556_assignsubmission_file/01_epochs.ipynb"]["reason"]
    assert "checkpoint" in rows["Ada Lovelace_5551_assignsubmission_file/.ipynb_checkpoints/01_epochs-checkpoint.ipynb"]["reason"]
    assert "matched by name" in rows["Ada Lovelace_5551_assignsubmission_file/01_epochs.ipynb"]["reason"]   # 'Lovelace, Ada'


def test_moodle_needs_a_roster(tmp_path):
    z = make_zip(tmp_path/"moodle.zip", MOODLE)
    c = collect([z], tmp_path/"subs", A)
    assert not c.placed and all("participant id that changes" in f.reason for f in c.unplaced if f.reason.startswith("Moodle names"))


def nbgrader_course(root:Path, subs:dict) -> Path:
    "submitted/<student>/<assignment>/ with timestamp.txt as `nbgrader submit` writes it."
    for student, (stamp, files) in subs.items():
        d = root/"submitted"/student/A
        d.mkdir(parents=True)
        for name, data in files.items(): (d/name).write_bytes(data)
        if stamp is not None: (d/"timestamp.txt").write_text(stamp)
        (d/"submission_secret.txt").write_text("f" * 128)
    return root


def test_nbgrader_and_latest_wins(tmp_path, roster):
    first = nbgrader_course(tmp_path/"course-monday", {
        "alovelace": ("2026-12-14 20:00:00.000001 UTC", {f"{A}.ipynb": nb("ada monday")}),
        "bbuilder": ("2026-12-15 23:30:00.5 UTC+01:00", {f"{A}.ipynb": nb("bob")}),
        "cstevens": ("garbled", {f"{A}.ipynb": nb("cat")}),
        "dbrown": (None, {"notes.txt": b"no notebook"}),
    })
    (first/"submitted"/"eonline").mkdir(); (first/"submitted"/"eonline"/"02_other").mkdir()   # another assignment only
    later = nbgrader_course(tmp_path/"course-friday", {
        "alovelace": ("2026-12-18 09:00:00.000001 UTC", {f"{A}.ipynb": nb("ada friday")}),
    })
    c = collect([first, later], tmp_path/"subs", A, roster=roster)
    assert sorted(p.name for p in (tmp_path/"subs").iterdir()) == ["ada.ipynb", "bob.ipynb", "cat.ipynb"]
    assert b"ada friday" in (tmp_path/"subs"/"ada.ipynb").read_bytes()          # the latest wins
    rows = report(c)
    old = next(r for r in rows if r["source"] == "course-monday" and r["student"] == "ada")
    assert old["status"] == "superseded" and "submitted later" in old["reason"]
    m = read_manifest(c.manifest)
    assert m.at["ada", "submitted_at"] == dt.datetime(2026, 12, 18, 9, 0, 0, 1, tzinfo=dt.timezone.utc)
    assert m.at["bob", "submitted_at"] == dt.datetime(2026, 12, 15, 22, 30, 0, 500000, tzinfo=dt.timezone.utc)
    assert "cat" not in m.index                                                  # unreadable time: no row, and said so
    cat = next(r for r in rows if r["student"] == "cat")
    assert cat["status"] == "placed" and "timestamp.txt unreadable" in cat["reason"]
    assert any("not a notebook" in r["reason"] for r in rows if r["entry"].endswith("notes.txt"))
    assert any("no submission of 01_epochs (folders here: 02_other)" in r["reason"] for r in rows)
    assert "cat" in c.warnings[0]


def test_never_overwrites(tmp_path, roster):
    z = make_zip(tmp_path/"canvas.zip", CANVAS)
    dest = tmp_path/"subs"; dest.mkdir()
    (dest/"bob.ipynb").write_text("the instructor's own copy")
    with pytest.raises(FileExistsError, match=r"bob\.ipynb.*Nothing was written"):
        collect([z], dest, A, roster=roster)
    assert [p.name for p in dest.iterdir()] == ["bob.ipynb"] and (dest/"bob.ipynb").read_text() == "the instructor's own copy"
    assert not (tmp_path/"subs-manifest.csv").exists() and not (tmp_path/"subs-collect.csv").exists()
    os.symlink(tmp_path/"elsewhere.ipynb", dest/"ada.ipynb")                      # a planted link is in the way too
    (dest/"bob.ipynb").unlink()
    with pytest.raises(FileExistsError, match="ada.ipynb"): collect([z], dest, A, roster=roster)
    assert not (tmp_path/"elsewhere.ipynb").exists()


def test_hostile_zip(tmp_path, roster):
    big = os.urandom(300_000)                                                     # incompressible: not a bomb, just big
    entries = {
        "../../lovelaceada_101_9001_01_epochs.ipynb": nb("escape"),
        "/abs/lovelaceada_101_9002_01_epochs.ipynb": nb("absolute"),
        "C:/lovelaceada_101_9003_01_epochs.ipynb": nb("drive"),
        "lovelaceada_101_9004_01_epochs.ipynb": ("link", "/etc/passwd"),
        "builderbob_102_9005_01_epochs.ipynb": b"{" + b" " * (5 * 2**20) + b"}",   # 5 MiB of blanks: a bomb
        "stevenscat_103_9006_01_epochs.ipynb": big,                                 # over the size limit below
        "lovelaceada_101_9007_01_epochs.ipynb": nb("ada, the honest one"),
    }
    z = make_zip(tmp_path/"evil.zip", entries)
    c = collect([z], tmp_path/"out"/"subs", A, roster=roster, limits=Limits(max_file=200_000))
    assert sorted(p.name for p in (tmp_path/"out"/"subs").iterdir()) == ["ada.ipynb"]
    assert b"honest" in (tmp_path/"out"/"subs"/"ada.ipynb").read_bytes()
    assert sorted(p.name for p in (tmp_path/"out").iterdir()) == ["subs", "subs-collect.csv", "subs-manifest.csv"]
    assert not (tmp_path/"lovelaceada_101_9001_01_epochs.ipynb").exists() and not Path("/abs").exists()
    rows = {r["entry"]: r["reason"] for r in report(c)}
    assert "escape" in rows["../../lovelaceada_101_9001_01_epochs.ipynb"]
    assert "absolute" in rows["/abs/lovelaceada_101_9002_01_epochs.ipynb"] and "absolute" in rows["C:/lovelaceada_101_9003_01_epochs.ipynb"]
    assert "symbolic link" in rows["lovelaceada_101_9004_01_epochs.ipynb"]
    assert "zip bomb" in rows["builderbob_102_9005_01_epochs.ipynb"]
    assert "Limits.max_file" in rows["stevenscat_103_9006_01_epochs.ipynb"]


def test_member_lying_about_its_size_is_cut(tmp_path, roster):
    "A member whose header claims less than it holds is read only up to the limit, then refused."
    z = make_zip(tmp_path/"lie.zip", {"lovelaceada_101_9001_01_epochs.ipynb": os.urandom(50_000)})
    raw = bytearray(z.read_bytes())
    i = raw.rfind(b"PK\x01\x02")                                                  # central directory: uncompressed size
    raw[i + 24:i + 28] = (1000).to_bytes(4, "little")
    j = raw.find(b"PK\x03\x04")
    raw[j + 22:j + 26] = (1000).to_bytes(4, "little")
    z.write_bytes(bytes(raw))
    c = collect([z], tmp_path/"subs", A, roster=roster, limits=Limits(max_file=20_000))
    assert not list((tmp_path/"subs").iterdir()) and c.unplaced and "not written" in c.unplaced[0].reason


def test_nbgrader_links_and_fifos_never_followed(tmp_path, roster):
    secret = tmp_path/"secret.ipynb"; secret.write_bytes(nb("the instructor's solution"))
    course = nbgrader_course(tmp_path/"course", {"alovelace": ("2026-12-14 20:00:00.1 UTC", {})})
    os.symlink(secret, course/"submitted"/"alovelace"/A/f"{A}.ipynb")
    b = course/"submitted"/"bbuilder"/A; b.mkdir(parents=True); os.mkfifo(b/f"{A}.ipynb")
    os.symlink(tmp_path, course/"submitted"/"cstevens")
    c = collect([course], tmp_path/"subs", A, roster=roster)
    assert not (tmp_path/"subs").exists() or not list((tmp_path/"subs").iterdir())
    reasons = " | ".join(f.reason for f in c.unplaced)
    assert reasons.count("symbolic link") == 2 and "FIFO" in reasons


def test_cli(tmp_path, roster, capsys):
    z = make_zip(tmp_path/"canvas.zip", CANVAS)
    assert main(["collect", str(z), "--assignment", A, "--to", str(tmp_path/"subs"), "--roster", str(roster)]) == 0
    out, err = capsys.readouterr()
    assert "placed 4 notebooks" in out and "1 older submission(s) superseded" in out and "not placed:" in out
    assert "Canvas marked LATE" in err
    assert main(["collect", str(z), "--assignment", A, "--to", str(tmp_path/"subs"), "--roster", str(roster)]) == 2
    assert "Nothing was written" in capsys.readouterr().err
    (tmp_path/"bad.zip").write_bytes(b"not a zip")
    assert main(["collect", str(tmp_path/"bad.zip"), "--assignment", A, "--to", str(tmp_path/"s2")]) == 2
    assert "download it again" in capsys.readouterr().err
