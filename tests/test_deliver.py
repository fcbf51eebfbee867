"""`imdb-course feedback`: per-student delivery from a grading folder laid out exactly as `imdb_course.grading.pipeline.grade_one`
and `gradebook.write_reports` write it (nothing is graded here: the layout is built from the grader's own writers)."""
import base64, io, json, zipfile

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from imdb_course.cli import main
from imdb_course.instructor.deliver import DeliverError, deliver
from imdb_course.records.gradebook import Gradebook
from imdb_course.records.reports import write_feedback, write_summary
from imdb_course.grading.result import GradeResult

STUDENTS = ("ann", "bob", "cy.d")   # cy.d: a student id with a dot (grade.safe_name keeps it)


def png_b64(color):
    fig = plt.figure(figsize=(1, 1)); fig.patch.set_facecolor(color)
    buf = io.BytesIO(); fig.savefig(buf, format="png"); plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def graded_folder(out, assignment, student, with_curve=True):
    "One student's folder as grade_one leaves it: executed.ipynb, artifacts/<q>/..., result.json, feedback.html."
    folder = out/assignment/student
    q2 = folder/"artifacts"/"q2"; q2.mkdir(parents=True)
    if with_curve:
        (q2/"history.json").write_text(json.dumps({"loss": [0.69, 0.52], "accuracy": [0.52, 0.78],
                                                   "val_loss": [0.66, 0.58], "val_accuracy": [0.6, 0.71]}))
    (q2/"model.keras").write_bytes(b"PK model of " + student.encode())
    np.save(q2/"predictions.npy", np.zeros(3))
    (q2/"answer.json").write_text(json.dumps({"student": student}))
    cells = [new_code_cell("EPOCHS = 1", metadata={"tags": ["injected-parameters"]}),
             new_code_cell(f"print('{student} was here')", outputs=[new_output("stream", name="stdout", text=f"{student} was here\n")]),
             new_code_cell("fig", outputs=[new_output("display_data", data={"image/png": png_b64("red"), "text/plain": "<Figure>"})])]
    nbformat.write(new_notebook(cells=cells), folder/"executed.ipynb")
    result = {"assignment": assignment, "student": student, "file": f"/submissions/{student}.ipynb", "sha256": "ab" * 32,
              "params_hash": "h1", "params": {"EPOCHS": 1}, "status": "ok", "status_doc": "ran to the end without an error",
              "message": "ran to the end without errors", "notes": [], "errors": [], "codes": [],
              "questions": {"q1": {"points": 1.0, "max_points": 1.0, "messages": ["ok"], "diagnoses": [], "accuracy": None, "history": None},
                            "q2": {"points": 2.0, "max_points": 3.0, "messages": ["accuracy 0.71"], "diagnoses": [], "accuracy": 0.71,
                                   "history": str(q2/"history.json") if with_curve else None}},
              "total": 3.0, "max_total": 4.0, "executed": str(folder/"executed.ipynb"), "folder": str(folder),
              "started": "2026-12-01T20:00:00Z", "finished": "2026-12-01T20:01:00Z", "seconds": 60.0}
    (folder/"result.json").write_text(json.dumps(result, indent=1))
    result = GradeResult.from_dict(result)
    result.feedback = str(write_feedback(result, folder/"feedback.html"))
    return result


@pytest.fixture
def grading(tmp_path):
    out = tmp_path/"grading"
    results = {a: [graded_folder(out, a, s, with_curve=(s != "bob")) for s in STUDENTS] for a in ("01_epochs", "02_stacked")}
    with Gradebook(out) as gb:
        for rs in results.values():
            for r in rs: gb.record(r)
    for a, rs in results.items(): write_summary(rs, out/a/"summary.html")
    ref = out/"reference"/"0123abcd"
    graded_folder(out/"reference", "0123abcd", "reference")   # the solution's run: reference/<hash>/...
    (out/"01_epochs"/"similarity.html").write_text("<html>ann ↔ bob</html>")
    return out


def files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_each_student_gets_only_their_files(grading, tmp_path):
    df = deliver(grading, tmp_path/"fb")
    assert df.folder.tolist() == list(STUDENTS) and (df.assignments == "01_epochs, 02_stacked").all()
    assert sorted(p.name for p in (tmp_path/"fb").iterdir()) == sorted(STUDENTS)   # no reference, no class pages
    for s in STUDENTS:
        mine = files(tmp_path/"fb"/s)
        expected = [f"{a}/{f}" for a in ("01_epochs", "02_stacked")
                    for f in ((["curves/q2.png"] if s != "bob" else []) + ["executed.ipynb", "feedback.html", "figures/cell-3-1.png"])]
        assert mine == expected, mine
        for a in ("01_epochs", "02_stacked"):
            d = tmp_path/"fb"/s/a
            assert (d/"executed.ipynb").read_bytes() == (grading/a/s/"executed.ipynb").read_bytes()
            assert (d/"feedback.html").read_bytes() == (grading/a/s/"feedback.html").read_bytes()
            assert "href='executed.ipynb'" in (d/"feedback.html").read_text()   # the page's link works in the delivery
            assert (d/"figures"/"cell-3-1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        text = " ".join((tmp_path/"fb"/s/f).read_text(errors="replace") for f in mine if not f.endswith(".png"))
        others = [o for o in STUDENTS if o != s]
        assert f"{s} was here" in text and not any(f"{o} was here" in text or f"— {o}<" in text for o in others)


def test_zip_and_never_overwrite_without_force(grading, tmp_path):
    out = tmp_path/"fb"; out.mkdir(); (out/"notes.txt").write_text("mine")
    with pytest.raises(DeliverError, match="--force"):
        deliver(grading, out, zip=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]   # nothing written
    deliver(grading, out, zip=True, assignment="01_epochs", force=True)
    assert sorted(p.name for p in out.iterdir()) == ["ann.zip", "bob.zip", "cy.d.zip", "notes.txt"]
    names = zipfile.ZipFile(out/"ann.zip").namelist()
    assert sorted(names) == ["ann/01_epochs/curves/q2.png", "ann/01_epochs/executed.ipynb", "ann/01_epochs/feedback.html",
                             "ann/01_epochs/figures/cell-3-1.png"]
    # the CLI: the same refusal, with the fix named, and exit code 2; then --force replaces the zips
    err = io.StringIO()
    import contextlib
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["feedback", str(grading), "--to", str(out), "--zip"]) == 2
    assert "--force" in err.getvalue() and "holds 4 entries" in err.getvalue()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main(["feedback", str(grading/"02_stacked"), "--to", str(out), "--zip", "--force"]) == 0
    assert "3 zips" in printed.getvalue() and (out/"notes.txt").read_text() == "mine"
    assert all(n.startswith("ann/02_stacked/") for n in zipfile.ZipFile(out/"ann.zip").namelist())


def test_refuses_to_deliver_into_the_grading_folder(grading, tmp_path):
    with pytest.raises(DeliverError, match="overlaps"):
        deliver(grading, grading/"01_epochs", force=True)
    with pytest.raises(DeliverError, match="imdb-course grade"):
        deliver(tmp_path, tmp_path/"fb2")
    assert (grading/"01_epochs"/"ann"/"result.json").is_file()
