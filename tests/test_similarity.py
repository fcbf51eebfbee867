"""Copy detection (`imdb_course.instructor.similarity`) on small synthetic notebooks laid out the way the grader writes them:
GRADING/ASSIGNMENT/<student>/executed.ipynb + result.json, with papermill's injected-parameters cell."""
import json, re

import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
import nbformat

from imdb_course.instructor.similarity import CSV_COLUMNS, SimilarityError, similarity_report

PARAMS = 'EPOCHS = 5\nMAXLEN = 200\nOUTPUT_DIR = "course_output"'
IMPORTS = "import numpy as np\nfrom imdb_course.submit import submit"
TASK1 = "# YOUR CODE HERE\nraise NotImplementedError()\nsubmit('q1', output_dir=OUTPUT_DIR, answer={'mean': mean_length, 'top': top_words})"
TASK2 = "# YOUR CODE HERE\nraise NotImplementedError()\nsubmit('q2', output_dir=OUTPUT_DIR, answer={'clipped': clipped})"

ANN1 = """lengths = [len(review) for review in reviews]
mean_length = sum(lengths) / len(lengths)
counts = {}
for review in reviews:
    for word in review:
        counts[word] = counts.get(word, 0) + 1
top_words = sorted(counts, key=counts.get, reverse=True)[:10]"""
ANN2 = """clipped = []
for review in reviews:
    if len(review) > MAXLEN:
        clipped.append(review[:MAXLEN])
    else:
        clipped.append([0] * (MAXLEN - len(review)) + review)"""
# bob: ann's code, every name changed (and his own comment)
BOB1 = """sizes = [len(r) for r in reviews]   # how long each one is
mean_length = sum(sizes) / len(sizes)
freq = {}
for r in reviews:
    for w in r:
        freq[w] = freq.get(w, 0) + 1
top_words = sorted(freq, key=freq.get, reverse=True)[:10]"""
BOB2 = """clipped = []
for rev in reviews:
    if len(rev) > MAXLEN:
        clipped.append(rev[:MAXLEN])
    else:
        clipped.append([0] * (MAXLEN - len(rev)) + rev)"""
# cy: the same task, written independently
CY1 = """import collections
mean_length = np.mean(list(map(len, reviews)))
top_words = [w for w, _ in collections.Counter(w for r in reviews for w in r).most_common(10)]"""
CY2 = """clipped = np.stack([np.pad(np.asarray(r[:MAXLEN]), (MAXLEN - min(len(r), MAXLEN), 0)) for r in reviews])"""


def notebook(task1, task2, injected=True):
    "A notebook shaped like an assignment; `task1`/`task2` replace the `# YOUR CODE HERE` lines."
    cells = [new_markdown_cell("# Assignment\nCount words."),
             new_code_cell(PARAMS, metadata={"tags": ["parameters"]})]
    if injected: cells.append(new_code_cell('EPOCHS = 1\nOUTPUT_DIR = "/tmp/x"', metadata={"tags": ["injected-parameters"]}))
    cells += [new_code_cell(IMPORTS), new_markdown_cell("## q1"),
              new_code_cell(TASK1.replace("# YOUR CODE HERE\nraise NotImplementedError()", task1)),
              new_markdown_cell("## q2"),
              new_code_cell(TASK2.replace("# YOUR CODE HERE\nraise NotImplementedError()", task2))]
    return new_notebook(cells=cells)


STUDENTS = {"ann": (ANN1, ANN2), "bob": (BOB1, BOB2), "cy": (CY1, CY2),
            "dee": ("# YOUR CODE HERE\nraise NotImplementedError()",) * 2}   # dee handed in the template


@pytest.fixture
def course(tmp_path):
    "A template notebook and a grading folder as `imdb_course.grading.pipeline.grade_one` writes it."
    template = tmp_path/"assignments"/"07_words.ipynb"
    template.parent.mkdir()
    nbformat.write(notebook("# YOUR CODE HERE\nraise NotImplementedError()", "# YOUR CODE HERE\nraise NotImplementedError()",
                            injected=False), template)
    grading = tmp_path/"grading"
    for student, (t1, t2) in STUDENTS.items():
        folder = grading/"07_words"/student
        folder.mkdir(parents=True)
        nbformat.write(notebook(t1, t2), folder/"executed.ipynb")
        (folder/"result.json").write_text(json.dumps({"assignment": "07_words", "student": student, "status": "ok"}))
        (folder/"feedback.html").write_text("<html>feedback</html>")
    (grading/"07_words"/"eve").mkdir()   # an invalid notebook: the grader wrote result.json but no executed.ipynb
    (grading/"07_words"/"eve"/"result.json").write_text(json.dumps({"assignment": "07_words", "student": "eve", "file": "eve.ipynb", "status": "invalid",
                                                                   "message": "not valid JSON"}))
    (grading/"07_words"/"summary.html").write_text("<html>summary</html>")
    (grading/"reference"/"abc123").mkdir(parents=True)
    nbformat.write(notebook(ANN1, ANN2), grading/"reference"/"abc123"/"executed.ipynb")   # the solution run: not a student
    return template, grading


def marked(page):
    "The texts inside <mark> on the page."
    return re.findall(r"<mark>(.*?)</mark>", page, flags=re.S)


def test_copied_pair_is_flagged_with_its_region(course):
    template, grading = course
    pairs = similarity_report(grading, "07_words", template=template)
    assert len(pairs) == 6   # 4 students, not the reference run
    flagged = pairs[pairs.flagged]
    assert flagged[["student_a", "student_b"]].values.tolist() == [["ann", "bob"]]
    top = flagged.iloc[0]
    assert top.similarity >= 0.9 and top.matched >= 100
    html_path = grading/"07_words"/"similarity.html"
    assert pairs.attrs["html"] == str(html_path)
    page = html_path.read_text()
    assert "ann ↔ bob" in page and "1 pair(s) flagged" in page
    assert "eve: no executed notebook (invalid: not valid JSON)" in page and pairs.attrs["skipped"] == {
        "eve": "no executed notebook (invalid: not valid JSON)"}
    regions = "\n".join(marked(page))
    # both sides of the matching region are shown: ann's names on one side, bob's renamed ones on the other
    assert "counts[word] = counts.get(word, 0) + 1" in regions and "freq[w] = freq.get(w, 0) + 1" in regions
    assert "clipped.append(rev[:MAXLEN])" in regions


def test_independent_and_template_pairs_are_not_flagged(course):
    template, grading = course
    pairs = similarity_report(grading, "07_words", template=template).set_index(["student_a", "student_b"])
    for pair in [("ann", "cy"), ("bob", "cy")]:
        assert not pairs.loc[pair, "flagged"] and pairs.loc[pair, "similarity"] < 0.3, pairs.loc[pair]
    # dee handed in the template: she shares only template code with everybody, and that code makes no match
    for pair in [("ann", "dee"), ("bob", "dee"), ("cy", "dee")]:
        assert pairs.loc[pair, "matched"] == 0 and not pairs.loc[pair, "flagged"]
    page = (grading/"07_words"/"similarity.html").read_text()
    assert not any("submit(" in m or "EPOCHS" in m or "import numpy" in m for m in marked(page))
    assert "dee ↔" not in page and "↔ dee" not in page


def test_without_the_template_its_code_matches(course, tmp_path):
    "The control for the test above: the template code is what dee shares, so excluding it is what keeps her clean."
    _, grading = course
    pairs = similarity_report(grading, "07_words", template=False, out=tmp_path/"raw", common_share=None).set_index(["student_a", "student_b"])
    assert pairs.loc[("ann", "dee"), "matched"] > 0 and pairs.loc[("cy", "dee"), "matched"] > 0
    # code the whole class shares counts as boilerplate too (MOSS' -m): without the template, dee still matches nobody
    shared = similarity_report(grading, "07_words", template=False, out=tmp_path/"raw2").set_index(["student_a", "student_b"])
    assert shared.loc[("ann", "dee"), "matched"] == 0 and shared.loc[("ann", "bob"), "flagged"]


def test_csv_columns_and_submissions_folder(course, tmp_path, monkeypatch):
    template, grading = course
    similarity_report(grading, "07_words", template=template)
    csv = pd.read_csv(grading/"07_words"/"similarity.csv")
    assert tuple(csv.columns) == CSV_COLUMNS and len(csv) == 6
    assert csv.iloc[0][["student_a", "student_b"]].tolist() == ["ann", "bob"] and csv.flagged.sum() == 1
    assert csv.file_a.str.endswith("executed.ipynb").all()
    # raw submissions (alice.ipynb files) work too; the report goes to similarity/NAME/ under the cwd, not into them
    subs = tmp_path/"subs"; subs.mkdir()
    for student, (t1, t2) in STUDENTS.items(): nbformat.write(notebook(t1, t2, injected=False), subs/f"{student}.ipynb")
    monkeypatch.chdir(tmp_path)
    pairs = similarity_report(subs, "07_words")   # default template: assignments/07_words.ipynb under the cwd
    assert pairs[pairs.flagged][["student_a", "student_b"]].values.tolist() == [["ann", "bob"]]
    assert (tmp_path/"similarity"/"07_words"/"similarity.html").is_file() and sorted(p.name for p in subs.iterdir()) == [
        "ann.ipynb", "bob.ipynb", "cy.ipynb", "dee.ipynb"]


def test_errors_name_the_fix(course, tmp_path):
    template, grading = course
    with pytest.raises(SimilarityError, match="--template"):
        similarity_report(grading, "07_words", template=tmp_path/"nope.ipynb")
    (tmp_path/"empty").mkdir()
    with pytest.raises(SimilarityError, match="imdb-course grade"):
        similarity_report(tmp_path/"empty", "07_words", template=template)
    with pytest.raises(SimilarityError, match="at least two.*whole class"):
        similarity_report(tmp_path/"assignments", "07_words", template=template)   # one notebook only


def test_cli(course, tmp_path, capsys):
    from imdb_course.cli import main
    template, grading = course
    assert main(["similarity", str(grading), "--assignment", "07_words", "--template", str(template), "--out", str(tmp_path/"r")]) == 0
    out = capsys.readouterr().out
    assert "6 pairs compared, 1 flagged" in out and "ann" in out and str(tmp_path/"r"/"similarity.html") in out
    assert main(["similarity", str(grading), "--assignment", "07_words", "--template", str(tmp_path/"missing.ipynb")]) == 2
    assert "--template" in capsys.readouterr().err
