"""imdb_course.instructor.release: solution notebooks -> student versions (markers, leaks, determinism, safety),
and the committed assignments/ are up to date with solutions/."""
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from imdb_course.instructor.release import (BEGIN_CODE, END_CODE, MD_STUB, ReleaseError, check_release, find_leaks,
                                 release, release_nb, release_notebook, render, strip_regions)

REPO = Path(__file__).resolve().parents[1]


def solution_nb():
    return new_notebook(cells=[
        new_markdown_cell("# Exercise 1"),
        new_code_cell('EPOCHS = 3\nOUTPUT_DIR = "out"', metadata={"tags": ["parameters"]}),
        new_code_cell("import math\n\ndef area(r):\n    ### BEGIN SOLUTION\n    return math.pi * r ** 2\n"
                      "    ### END SOLUTION\n\nprint(area(1))",
                      metadata={"imdb_course": {"question": "q1", "points": 2, "rubric": {"epochs": "EPOCHS"}}},
                      execution_count=7, outputs=[new_output("stream", text="3.14159\n")]),
        new_markdown_cell("**Q1w.** Why?\n\n<!-- BEGIN SOLUTION -->\nBecause the validation loss rises "
                          "after epoch 2.\n<!-- END SOLUTION -->",
                          metadata={"imdb_course": {"question": "q1w", "kind": "written", "points": 0}}),
        new_code_cell("hidden_answer = 42", metadata={"tags": ["solution"]}),
    ])


@pytest.fixture
def course(tmp_path):
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_nb(), tmp_path / "solutions" / "01_x.ipynb")
    return tmp_path


def test_code_region_keeps_indentation_and_rest_of_cell():
    out = strip_regions("a = 1\nif a:\n    ### BEGIN SOLUTION\n    b = 2\n    c = 3\n    ### END SOLUTION\nprint(a)", "code")
    assert out == "a = 1\nif a:\n    # YOUR CODE HERE\n    raise NotImplementedError()\nprint(a)"
    compile(out, "<cell>", "exec")


def test_two_regions_in_one_cell():
    src = f"{BEGIN_CODE}\nx = 1\n{END_CODE}\ny = 2\n{BEGIN_CODE}\nz = 3\n{END_CODE}"
    assert strip_regions(src, "code").count("raise NotImplementedError()") == 2
    assert "y = 2" in strip_regions(src, "code")


def test_markdown_region_and_whole_solution_cells(course):
    nb = release_nb(nbformat.read(course / "solutions/01_x.ipynb", as_version=4), "01_x.ipynb")
    assert nb.cells[3].source == f"**Q1w.** Why?\n\n{MD_STUB}"
    assert nb.cells[4].source == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert nb.cells[2].outputs == [] and nb.cells[2].execution_count is None


@pytest.mark.parametrize("src, message", [
    (f"{BEGIN_CODE}\nx = 1", "never closed"),
    (f"x = 1\n{END_CODE}", "without a matching"),
    (f"{BEGIN_CODE}\n{BEGIN_CODE}\n{END_CODE}\n{END_CODE}", "inside an open region"),
    ("## BEGIN SOLUTION\nx = 1\n## END SOLUTION", "looks like a solution marker"),
])
def test_unbalanced_or_misspelled_markers_raise(src, message):
    with pytest.raises(ReleaseError, match=message):
        strip_regions(src, "code", "01_x.ipynb, cell 3")


def test_metadata_kept(course):
    release(course / "solutions", course / "assignments")
    nb = nbformat.read(course / "assignments/01_x.ipynb", as_version=4)
    assert nb.cells[1].metadata["tags"] == ["parameters"]
    assert nb.cells[2].metadata["imdb_course"] == {"question": "q1", "points": 2, "rubric": {"epochs": "EPOCHS"}}
    assert nb.cells[3].metadata["imdb_course"]["kind"] == "written"
    src = nbformat.read(course / "solutions/01_x.ipynb", as_version=4)
    assert [c.id for c in nb.cells] == [c.id for c in src.cells]


def test_no_solution_text_in_release(course):
    release(course / "solutions", course / "assignments")
    text = (course / "assignments/01_x.ipynb").read_text()
    for secret in ["math.pi * r ** 2", "validation loss rises", "hidden_answer", "3.14159", "BEGIN SOLUTION"]:
        assert secret not in text
    assert check_release(course / "solutions", course / "assignments") == []


def test_idempotent_and_deterministic(course, tmp_path):
    assert release(course / "solutions", course / "assignments") == {"01_x.ipynb": "written"}
    first = (course / "assignments/01_x.ipynb").read_bytes()
    assert release(course / "solutions", course / "assignments") == {"01_x.ipynb": "unchanged"}
    # another checkout (other absolute path) gives the same bytes
    other = tmp_path / "elsewhere"
    shutil.copytree(course / "solutions", other / "solutions")
    release(other / "solutions", other / "assignments")
    assert (other / "assignments/01_x.ipynb").read_bytes() == first
    # releasing an executed solution (outputs, timings) changes nothing
    nb = nbformat.read(course / "solutions/01_x.ipynb", as_version=4)
    nb.cells[1].outputs = [new_output("stream", text="ran\n")]
    nb.cells[1].execution_count = 1
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    nb.metadata["papermill"] = {"duration": 3.2}
    assert render(release_nb(nb, "01_x.ipynb")) == first


def test_check_reports_missing_outdated_orphan(course):
    sol, asg = course / "solutions", course / "assignments"
    assert any("is missing" in p for p in check_release(sol, asg))
    release(sol, asg)
    nb = nbformat.read(sol / "01_x.ipynb", as_version=4)
    nb.cells[0].source = "# Exercise 1, revised"
    nbformat.write(nb, sol / "01_x.ipynb")
    problems = check_release(sol, asg)
    assert len(problems) == 1 and "out of date" in problems[0] and "imdb-course release" in problems[0]
    release(sol, asg)
    shutil.copy(asg / "01_x.ipynb", asg / "99_old.ipynb")
    assert any("99_old.ipynb has no solution" in p for p in check_release(sol, asg))


def test_check_detects_leak(course):
    sol, asg = course / "solutions", course / "assignments"
    release(sol, asg)
    nb = nbformat.read(asg / "01_x.ipynb", as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("# YOUR CODE HERE", "return math.pi * r ** 2")
    nbformat.write(nb, asg / "01_x.ipynb")
    problems = check_release(sol, asg)
    assert any("leaked" in p and "math.pi * r ** 2" in p for p in problems), problems
    assert find_leaks(nbformat.read(sol / "01_x.ipynb", as_version=4), nb) == [(3, "return math.pi * r ** 2")]


def test_check_reports_bad_markers(course):
    sol = course / "solutions"
    nb = nbformat.read(sol / "01_x.ipynb", as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace(END_CODE, "")
    nbformat.write(nb, sol / "01_x.ipynb")
    problems = check_release(sol, course / "assignments")
    assert len(problems) == 1 and "never closed" in problems[0] and "cell 3" in problems[0]
    with pytest.raises(ReleaseError, match="never closed"):
        release(sol, course / "assignments")


def test_check_reports_invalid_student_python(course):
    sol = course / "solutions"
    nb = nbformat.read(sol / "01_x.ipynb", as_version=4)
    nb.cells.append(new_code_cell(f"x = [\n{BEGIN_CODE}\n    1, 2\n{END_CODE}\n]"))
    nbformat.write(nb, sol / "01_x.ipynb")
    release(sol, course / "assignments")
    assert any("not valid Python" in p for p in check_release(sol, course / "assignments"))


def test_refuses_to_overwrite_sources(course):
    sol = course / "solutions"
    before = (sol / "01_x.ipynb").read_bytes()
    with pytest.raises(ReleaseError, match="refusing"):
        release(sol, sol)
    with pytest.raises(ReleaseError, match="refusing"):
        release(sol, sol / "student")
    with pytest.raises(ReleaseError, match="refusing to overwrite the source"):
        release_notebook(sol / "01_x.ipynb", sol / "01_x.ipynb")
    with pytest.raises(ReleaseError, match="refusing"):
        release_notebook(sol / "01_x.ipynb", sol)  # a directory: would be the same file
    other = course / "other.ipynb"
    shutil.copy(sol / "01_x.ipynb", other)  # a different file that still holds solutions
    with pytest.raises(ReleaseError, match="contains solutions"):
        release_notebook(sol / "01_x.ipynb", other)
    assert (sol / "01_x.ipynb").read_bytes() == before and other.read_bytes() == before
    with pytest.raises(ReleaseError, match="is not a directory"):
        release(course / "no_such_dir", course / "a")


def test_empty_solutions_dir(tmp_path):
    (tmp_path / "s").mkdir()
    with pytest.raises(ReleaseError, match="no .ipynb files"):
        release(tmp_path / "s", tmp_path / "a")


# --- the repository's own course --------------------------------------------------------------------

def test_repo_assignments_up_to_date_and_leak_free():
    solutions = sorted((REPO / "solutions").glob("*.ipynb"))
    assert [p.stem for p in solutions] == ["01_epochs", "02_stacked", "03_embedding_lstm", "04_gru", "05_tuning"]
    problems = check_release(REPO / "solutions", REPO / "assignments")
    assert problems == [], "\n".join(problems)


def test_repo_release_is_reproducible(tmp_path):
    release(REPO / "solutions", tmp_path)
    for p in sorted((REPO / "assignments").glob("*.ipynb")):
        assert (tmp_path / p.name).read_bytes() == p.read_bytes(), f"{p.name}: run `imdb-course release solutions/ assignments/`"
