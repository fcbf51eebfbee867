"""The exercise notebooks: static contract checks (parameters, metadata, settings.ini, clean outputs), every
solution executed headlessly by papermill with tiny parameters (artifacts checked), every student version executed
and expected to stop at its first exercise with NotImplementedError. Executed copies go to a temp dir."""
import ast
import configparser
import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

from imdb_course.checks import PARAM_NAMES
from imdb_course.config import QUIET_TF_ENV

REPO = Path(__file__).resolve().parents[1]
NAMES = ["01_epochs", "02_stacked", "03_embedding_lstm", "04_gru", "05_tuning"]
CONTRACT = list(PARAM_NAMES)  # the papermill parameter contract, defined once in imdb_course.checks
SETTING_OF = {"NUM_WORDS": "num_words", "MAXLEN": "maxlen", "EPOCHS": "epochs", "BATCH_SIZE": "batch_size",
              "TRAIN_SAMPLES": "train_samples", "TEST_SAMPLES": "test_samples", "SEED": "seed"}
# tiny parameters: the whole headless run of ten notebooks must stay within a few minutes on 2 cores
TINY = dict(DATA_SOURCE="sample", NUM_WORDS=2000, MAXLEN=80, EPOCHS=1, BATCH_SIZE=64, TRAIN_SAMPLES=300,
            TEST_SAMPLES=300, SEED=0)
STUB = "raise NotImplementedError()"
# TensorFlow / absl / XLA C++ start-up lines (issue 24.4): none may reach a student's notebook or a command's output
TF_NOISE = re.compile(r"absl::InitializeLog|oneDNN|cpu_feature_guard|AVX-?512|^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ |"
                      r"cuda|XLA service|StreamExecutor|TF-TRT|rebuild TensorFlow", re.M | re.I)


def tf_noise(nb) -> list:
    "Lines of the notebook's outputs that TensorFlow's C++ side printed."
    lines = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            text = o.get("text", "") if o.output_type == "stream" else "\n".join(
                str(v) for k, v in o.get("data", {}).items() if k.startswith("text/plain"))
            lines += [line for line in text.splitlines() if TF_NOISE.search(line)]
    return lines


def read(kind, name):
    return nbformat.read(REPO / kind / f"{name}.ipynb", as_version=4)


def parameters_cell(nb):
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged 'parameters', found {len(cells)}"
    return cells[0]


def defaults(nb) -> dict:
    "name -> literal default of the parameters cell."
    out = {}
    for node in ast.parse(parameters_cell(nb).source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, "the parameters cell holds only NAME = value lines"
        out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def questions(nb) -> list:
    return [(i, c, c.metadata["imdb_course"]) for i, c in enumerate(nb.cells) if "imdb_course" in c.metadata]


@pytest.fixture(scope="module")
def settings():
    p = configparser.ConfigParser(interpolation=None)
    p.read(REPO / "settings.ini")
    return p


# --- static checks ---------------------------------------------------------------------------------

def test_exercise_set():
    assert sorted(p.stem for p in (REPO / "solutions").glob("*.ipynb")) == NAMES
    assert sorted(p.stem for p in (REPO / "assignments").glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_parameters_contract_and_settings(name, settings):
    nb = read("solutions", name)
    d = defaults(nb)
    assert list(d) == CONTRACT
    assert d["OUTPUT_DIR"].endswith(name)
    section = f"assignment.{name}"
    assert settings.has_section(section), f"settings.ini needs [{section}]"
    for var, key in SETTING_OF.items():
        raw = settings.get(section, key).replace("_", "")
        value = None if raw in ("", "None") else int(raw)
        assert value == d[var], f"[{section}] {key} = {raw} but the notebook's {var} = {d[var]}"


@pytest.mark.parametrize("name", NAMES)
def test_first_cell_installs_package_and_quiets_tf(name, settings):
    from imdb_course.instructor.release import install_cell
    for kind in ("solutions", "assignments"):
        first = read(kind, name).cells[1]
        assert first.cell_type == "code"
        assert first.source == install_cell(settings.get("course", "package_source")), \
            f"{kind}/{name}: the first cell is generated: run `imdb-course release` (solutions: copy it from an assignment)"
    for var in QUIET_TF_ENV: assert f'os.environ.setdefault("{var}"' in first.source  # before anything imports keras


@pytest.mark.parametrize("name", NAMES)
def test_question_metadata(name, settings):
    nb = read("solutions", name)
    qs = questions(nb)
    ids = [m["question"] for _, _, m in qs]
    assert len(ids) == len(set(ids)), f"duplicate question ids {ids}"
    graded = {m["question"]: (c, m) for _, c, m in qs if m.get("kind") != "written"}
    written = [(c, m) for _, c, m in qs if m.get("kind") == "written"]
    assert graded and written, "each notebook has graded exercises and written questions"
    points = dict(item.split(":") for item in settings.get(f"assignment.{name}", "points").split())
    points = {q: float(p) for q, p in points.items()}
    assert {q: p for q, p in points.items() if q in graded} == {q: float(m["points"]) for q, (c, m) in graded.items()}
    # written questions carry their points in settings.ini from the start (the maximum never changes after hand grading)
    assert set(points) == set(graded) | {m["question"] for _, m in written}, (name, sorted(points))
    for q, (cell, meta) in graded.items():
        assert cell.cell_type == "code" and re.search(rf'submit\("{q}", output_dir=OUTPUT_DIR', cell.source), \
            f"{name} {q}: the graded cell must hand in with submit({q!r}, output_dir=OUTPUT_DIR, ...)"
        assert "### BEGIN SOLUTION" in cell.source or any("### BEGIN SOLUTION" in c.source for c in nb.cells)
        assert set(meta["rubric"]) <= {"model", "epochs", "accuracy", "answer_keys", "evidence"}
        # every reported number is verified by the grader (else it would wait for manual review, even the reference's)
        assert set(meta["rubric"].get("answer_keys", [])) == set(meta["rubric"].get("evidence", {})), (name, q)
        if "epochs" in meta["rubric"]:
            assert "history=" in cell.source
    for cell, meta in written:
        assert cell.cell_type == "markdown" and "<!-- BEGIN SOLUTION -->" in cell.source and meta["points"] == 0


@pytest.mark.parametrize("kind", ["solutions", "assignments"])
@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(kind, name):
    nb = read(kind, name)
    for c in nb.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None, f"{kind}/{name}: clear the outputs before committing"
    text = (REPO / kind / f"{name}.ipynb").read_text()
    assert "#| export" not in text and "default_exp" not in text
    assert not re.search(r"^\s*from\s+\S+\s+import\s+\*", text, re.M), "no star imports"


# --- headless execution ----------------------------------------------------------------------------
# All ten notebooks run once per test session, WORKERS at a time (separate processes, each with its own kernel),
# sharing one tokenized-data cache; the tests below then inspect the executed copies and the artifacts.

WORKERS = int(os.environ.get("IMDB_COURSE_NB_WORKERS", "2"))
JOBS = [("solutions", n) for n in ["04_gru", "05_tuning", "02_stacked", "03_embedding_lstm", "01_epochs"]] + \
       [("assignments", n) for n in NAMES]  # longest first


def _execute(kind: str, name: str, root: str) -> dict:
    "Run one notebook with papermill (in a worker process); never over the source."
    import papermill as pm
    d = Path(root) / kind / name
    d.mkdir(parents=True)
    params = {**TINY, "OUTPUT_DIR": str(d / "output")}
    out, start, error = d / f"{name}.executed.ipynb", time.perf_counter(), None
    try:
        pm.execute_notebook(str(REPO / kind / f"{name}.ipynb"), str(out), parameters=params, kernel_name="python3",
                            cwd=str(d), progress_bar=False, log_output=False, execution_timeout=600)
    except pm.PapermillExecutionError as e:
        error = {"ename": e.ename, "evalue": e.evalue}
    except Exception as e:  # kernel died, timeout, ...
        error = {"ename": type(e).__name__, "evalue": str(e)[:2000]}
    return dict(out=out, params=params, error=error, seconds=time.perf_counter() - start)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    "(kind, name) -> {out, params, error, seconds} for every notebook, executed headlessly in a temp dir."
    root = tmp_path_factory.mktemp("headless")
    mp = pytest.MonkeyPatch()  # inherited by the workers and their kernels
    # the kernel must be this venv's python: put its kernelspec first on the search path and check it
    mp.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(Path(sys.prefix) / "share" / "jupyter"),
                                                             os.environ.get("JUPYTER_PATH")])))
    from jupyter_client.kernelspec import KernelSpecManager
    spec = KernelSpecManager().get_kernel_spec("python3")
    if not Path(spec.resource_dir).resolve().is_relative_to(Path(sys.prefix).resolve()) and \
            Path(spec.argv[0]).name not in ("python", "python3"):
        mp.undo()
        pytest.fail(f"kernel 'python3' ({spec.resource_dir}) runs {spec.argv[0]}, not this venv's python; "
                    f"run `{sys.executable} -m ipykernel install --sys-prefix --name python3`")
    mp.setenv("IMDB_COURSE_CACHE", os.environ.get("IMDB_COURSE_CACHE") or str(root / "imdb_cache"))
    mp.setenv("IMDB_COURSE_SETTINGS", str(REPO / "settings.ini"))
    mp.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    for var in QUIET_TF_ENV: mp.delenv(var, raising=False)  # as on a student's machine: the notebook quiets TensorFlow
    mp.setenv("MPLBACKEND", "agg")
    sources = {p: p.read_bytes() for kind in ("solutions", "assignments") for p in (REPO / kind).glob("*.ipynb")}
    start = time.perf_counter()
    try:
        # warm the data cache once, so parallel kernels don't all tokenize the reviews
        subprocess.run([sys.executable, "-c", "from imdb_course.data import load_imdb_data; "
                        f"load_imdb_data(num_words={TINY['NUM_WORDS']}, source={TINY['DATA_SOURCE']!r})"], check=True)
        with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {job: pool.submit(_execute, *job, str(root)) for job in JOBS}
            results = {job: f.result() for job, f in futures.items()}
    finally:
        mp.undo()
    wall = time.perf_counter() - start
    lines = [f"{k}/{n}: {r['seconds']:.0f} s" for (k, n), r in results.items()]
    report = f"headless notebooks ({WORKERS} workers): {wall:.0f} s wall\n  " + "\n  ".join(lines)
    (root / "timings.txt").write_text(report)
    print("\n" + report)
    for p, data in sources.items():
        assert p.read_bytes() == data, f"{p} was modified by the headless run"
    return results


@pytest.mark.parametrize("name", NAMES)
def test_solution_runs_headless(name, executed):
    r = executed[("solutions", name)]
    assert r["error"] is None, f"{name} failed: {r['error']}  (executed copy: {r['out']})"
    params, out_dir = r["params"], Path(r["params"]["OUTPUT_DIR"])
    for _, cell, meta in questions(read("solutions", name)):
        if meta.get("kind") == "written":
            continue
        q, rubric = meta["question"], meta["rubric"]
        qdir = out_dir / q
        answer = json.loads((qdir / "answer.json").read_text())
        assert answer["question"] == q
        for k in ("NUM_WORDS", "MAXLEN", "EPOCHS", "TRAIN_SAMPLES"):
            assert answer["params"][k] == params[k], f"{name} {q}: params seen by the notebook differ from the injected"
        if "model" in rubric or "accuracy" in rubric:
            assert (qdir / "model.keras").is_file(), f"{name} {q}: no model.keras"
        if "epochs" in rubric:
            history = json.loads((qdir / "history.json").read_text())
            assert len(history["loss"]) == params["EPOCHS"] and "val_accuracy" in history
        for key in rubric.get("answer_keys", []):
            assert key in answer["answer"], f"{name} {q}: answer.json lacks {key!r}"


@pytest.mark.parametrize("name", NAMES)
def test_assignment_stops_at_first_exercise(name, executed):
    r = executed[("assignments", name)]
    assert r["error"] is not None, f"{name}: the student version ran to the end; its exercises are not stubbed"
    assert r["error"]["ename"] == "NotImplementedError", f"{name} failed with {r['error']}"
    nb = nbformat.read(r["out"], as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    failed = [i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs)]
    first_stub = next(i for i, c in enumerate(code) if STUB in c.source)
    assert failed == [first_stub], f"{name}: expected the first error in code cell {first_stub}, got {failed}"
    assert all(c.execution_count is not None for c in code[:first_stub]), "every cell before the first exercise runs"


@pytest.mark.parametrize("kind", ["solutions", "assignments"])
@pytest.mark.parametrize("name", NAMES)
def test_no_tensorflow_startup_lines(kind, name, executed):
    nb = nbformat.read(executed[(kind, name)]["out"], as_version=4)
    assert tf_noise(nb) == [], f"{kind}/{name}: TensorFlow start-up lines in the outputs (set QUIET_TF_ENV before keras loads)"


def test_tf_noise_pattern():
    seen = ["WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
            "I0000 00:00:1796604739.717719    7467 port.cc:153] oneDNN custom operations are on.",
            "E0000 00:00:1796604752.042625    7320 util.cc:131] oneDNN supports DT_BOOL only on platforms with AVX-512."]
    assert all(TF_NOISE.search(line) for line in seen)
    assert not TF_NOISE.search("Epoch 1/3 - loss 0.69 - accuracy 0.51 - val_accuracy 0.55")


def test_imdb_course_run_is_quiet(tmp_path):
    "`imdb-course run` on a notebook that trains a Keras model: no start-up lines, neither in the copy nor on stderr."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import numpy as np, keras\nm = keras.Sequential([keras.Input((5,)), keras.layers.Embedding(10, 4, mask_zero=True), "
        "keras.layers.SimpleRNN(3), keras.layers.Dense(1)])\nm.compile('adam', 'mse')\n"
        "m.fit(np.ones((8, 5)), np.ones(8), verbose=0).history['loss'][0] > 0")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "nb.ipynb")
    env = {k: v for k, v in os.environ.items() if k not in QUIET_TF_ENV}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])), MPLBACKEND="agg",
               JUPYTER_PATH=str(Path(sys.prefix) / "share" / "jupyter"))
    r = subprocess.run([sys.executable, "-c", "import sys; from imdb_course.cli import main; sys.exit(main())", "run", str(tmp_path / "nb.ipynb"), "-q"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    out = nbformat.read(tmp_path / "nb.executed.ipynb", as_version=4)
    assert out.cells[0].outputs[-1]["data"]["text/plain"] == "True"
    assert tf_noise(out) == [] and [line for line in r.stderr.splitlines() if TF_NOISE.search(line)] == []


# --- exercises a student can follow (issue 24.6) -------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_generated_text_matches_settings(name):
    "The grading paragraph and the closing 'What to hand in' are written by `imdb-course release` from settings.ini."
    from imdb_course.config import load_settings
    from imdb_course.instructor.release import GENERATED_KEY, set_generated_cells
    for kind in ("solutions", "assignments"):
        nb = read(kind, name)
        kinds = [c.metadata.get(GENERATED_KEY) for c in nb.cells if c.metadata.get(GENERATED_KEY)]
        assert kinds == ["grading", "hand_in"], f"{kind}/{name}: generated cells {kinds}"
        from imdb_course.validate import VALIDATE_CELL
        assert nb.cells[-2].metadata.get(GENERATED_KEY) == "hand_in", f"{kind}/{name} must end with what to hand in"
        assert nb.cells[-1].source == VALIDATE_CELL, f"{kind}/{name}: the last cell is the one-line pre-check (issue 26.3)"
        fresh = read("solutions", name)
        set_generated_cells(fresh, name, load_settings(REPO / "settings.ini"))
        want = [c.source for c in fresh.cells if c.metadata.get(GENERATED_KEY)]
        got = [c.source for c in nb.cells if c.metadata.get(GENERATED_KEY)]
        assert got == want, f"{kind}/{name}: generated text is out of date; run `imdb-course release` (and copy it to the solution)"


def _assigned_in_solutions(nb) -> set:
    "Names assigned inside the notebook's solution regions (what the student writes)."
    names = set()
    for c in nb.cells:
        if c.cell_type != "code" or "### BEGIN SOLUTION" not in c.source: continue
        region = c.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
        for m in re.finditer(r"^\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=(?!=)", region, re.M):
            names.update(n.strip() for n in m.group(1).split(","))
    return names


@pytest.mark.parametrize("name", NAMES)
def test_exercise_text_names_what_the_grader_reads(name):
    "Every variable a question's submit() hands in that the student builds is named (in backticks) in its exercise text."
    from imdb_course.instructor.release import handed_in
    nb = read("solutions", name)
    built = _assigned_in_solutions(nb)
    handed = handed_in(nb)
    text, missing = "", {}
    for c in nb.cells:
        if c.cell_type == "markdown":
            text += c.source
            continue
        for q in re.findall(r'submit\("(q\d+)"', c.source):
            spans = " ".join(re.findall(r"`([^`]+)`", text))
            lacking = [v for v in handed.get(q, []) if v in built and not re.search(rf"\b{v}\b", spans)]
            if lacking: missing[q] = lacking
            text = ""  # the next exercise's text starts after this graded cell
    assert not missing, f"{name}: the exercise text does not name {missing}"
