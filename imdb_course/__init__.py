"""A Jupyter-first course kit that teaches recurrent neural networks through IMDB movie-review sentiment

Modules:

- `imdb_course.anatomy`: What a Keras model is made of, as plain data: `describe_model` (layers, embeddings, recurrent layers, output, loss) and `rnn_param_count`, the parameter formula of a recurrent layer. Keras is never imported here: layers are recognised by class name along their MRO, so the CLI, the gradebook and the checks stay cheap to import, and the same description comes from a live model or from the grader's sandboxed scorer.
- `imdb_course.data`: The IMDB reviews, loaded the way `keras.datasets.imdb` does it — from a local archive, the Keras download or a small real sample shipped with the package.
- `imdb_course.deliver`: Student feedback, ready to hand back: one folder (or zip) per student with their feedback page, the notebook as the grader ran it and their training curves as PNG files — and nothing of anybody else.
- `imdb_course.grading.boundary`: The one way anything crosses from a sandbox (a graded run, the scorer, a Dask worker) back to the grader: files opened without following links, regular files only, every read bounded in size and time; streams drained by the grader with a cap; a framed channel for the runner's result; the witness's record stream. Everything a graded run leaves behind is hostile input.
- `imdb_course.grading.isolation`: OS isolation of graded code with bubblewrap: a graded kernel, and every process it starts, sees only its own work dir, a private `/tmp`, the Python environment read-only — no network, no other process, no `$HOME`.
- `imdb_course.grading.runner`: The child process that runs one graded notebook: `python -m imdb_course.grading.runner job.json` protects its channel to the grader, sets its resource limits, arms a deadline, runs papermill and sends back the artifacts, the executed notebook and the result. `grading.sandbox.run_notebook` starts it; everything here runs in that child. `python -m imdb_course.grading.runner --wait start.json` is the pre-started form: limits, then a started kernel (its startup files import Keras), then it waits for the grader's `job.json` and runs that one notebook on that kernel.
- `imdb_course.integrity`: A gradebook that shows when something other than the grader changed it, and a grader that stops when its own code changes under it.
- `imdb_course.models`: One builder for every recurrent network of the course, a registry of the six classic architectures, a per-layer parameter table and the checks that catch the classic vocabulary mistake.
- `imdb_course.result`: `GradeResult`: the result of grading one submission — what the grader builds and writes (`result.json`), what the gradebook stores and returns, what the feedback page, the class summary, the review page and the LMS exports read. One dataclass with every field, so no part of the kit rebuilds a smaller dict of its own.
- `imdb_course.similarity`: Copy detection for instructors: pairs of submissions whose student-written code is suspiciously similar, with the matching regions side by side and the code the assignment template provides left out.
- `imdb_course.train`: Train a model and keep a small, saveable record of the run; evaluate it; compare architectures and sweep a parameter in one call."""

__version__ = "0.1.0"
