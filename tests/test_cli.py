"""The `imdb-course` command line (imdb_course.cli): its help is its functions' docments, one source; every command
line and flag README.md quotes parses (parse only: nothing heavy runs); help and usage errors are clear."""
import argparse, re, shlex
from pathlib import Path

import pytest
from fastcore.docments import docments

from imdb_course.cli import COMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT/"README.md").read_text()


def _walk(cmds:dict, prefix=()):
    "(('grades', 'export'), cmd_grades_export), ... for every command of `COMMANDS`."
    for name, f in cmds.items():
        yield from _walk(f, prefix + (name,)) if isinstance(f, dict) else [(prefix + (name,), f)]


def _sub(parser:argparse.ArgumentParser, path) -> argparse.ArgumentParser:
    "The subparser of `path` (`('grades', 'export')`)."
    for name in path:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    return parser


def _listed_help(parser, path) -> str:
    "The one-line help of the last command of `path`, as its parent's command list shows it."
    sub = next(a for a in _sub(parser, path[:-1])._actions if isinstance(a, argparse._SubParsersAction))
    return next(a.help for a in sub._choices_actions if a.dest == path[-1])


COMMAND_PATHS = [path for path, _ in _walk(COMMANDS)]


@pytest.mark.parametrize("path,f", list(_walk(COMMANDS)), ids=[" ".join(p) for p in COMMAND_PATHS])
def test_help_is_the_functions_docments(path, f):
    "Every argument's help is the docment of the parameter of the same name; the command's help is the docstring."
    parser = build_parser()
    p = _sub(parser, path)
    assert p.description == f.__doc__ and _listed_help(parser, path) == f.__doc__
    docs = docments(f, full=True, returns=False)
    actions = {a.dest: a for a in p._actions if a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)}
    assert set(actions) == set(docs), f"{' '.join(path)}: arguments that are not parameters (or back): {set(actions) ^ set(docs)}"
    for name, d in docs.items():
        assert d.docment, f"{f.__name__}: parameter {name} has no docment (its --help would be empty)"
        got = actions[name].help
        assert got == d.docment or got.startswith(d.docment + " (default: "), f"{' '.join(path)} {name}: help {got!r} is not the docment {d.docment!r}"


def _readme_command_lines() -> list[str]:
    "Every `imdb-course ...` command of README.md's code blocks (`&&` chains split, comments dropped)."
    lines = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words[:1] == ["imdb-course"]: lines.append(words)
    return lines


def test_readme_command_lines_parse():
    lines = _readme_command_lines()
    assert len(lines) >= 20, lines
    assert {w[1] for w in lines} >= {"demo", "init", "data", "run", "validate", "config", "release", "collect", "grade",
                                     "grades", "similarity", "review", "gradescope", "feedback"}
    parser = build_parser()
    for words in lines:
        try: ns = parser.parse_args(words[1:])
        except SystemExit: pytest.fail(f"README.md: `{shlex.join(words)}` does not parse")
        assert callable(ns._func)


def _options(p:argparse.ArgumentParser) -> dict:
    "--flag -> its action, for one (sub)parser."
    return {o: a for a in p._actions for o in a.option_strings}


def test_readme_inline_commands_and_flags_exist():
    "Commands and flags README.md quotes in running text (`imdb-course grades verify grading/ --sign-existing`, `--port`)."
    parser = build_parser()
    every = {}
    for path in COMMAND_PATHS: every.update(_options(_sub(parser, path)))
    spans = re.findall(r"`([^`\n]+)`", README)
    commands = [s.removeprefix("imdb-course ").split() for s in spans
                if s.startswith("imdb-course ") or s.split()[0] in COMMANDS]
    assert len(commands) >= 20, commands
    for words in commands:
        if words[0].startswith("-"):   # `imdb-course --help`
            assert all(w in _options(parser) for w in words), f"README.md: imdb-course has no {words}"; continue
        path = (words[0],) + ((words[1],) if isinstance(COMMANDS.get(words[0]), dict) and len(words) > 1 else ())
        assert path in COMMAND_PATHS or (len(path) == 1 and isinstance(COMMANDS[path[0]], dict)), f"README.md: no command {words}"
        if path not in COMMAND_PATHS: continue
        opts = _options(_sub(parser, path))
        for w in words:
            if w.startswith("-"): assert w in opts, f"README.md: `{' '.join(words)}`: {path} has no {w}"
    flags = [s.split() for s in spans if s.startswith("--")]
    assert len(flags) >= 15, flags
    for flag, *value in flags:
        assert flag in every, f"README.md: `{flag}` is no flag of any command"
        if value and every[flag].choices: assert value[0] in every[flag].choices, (flag, value)


def test_help(capsys):
    with pytest.raises(SystemExit) as e: main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and all(f"\n    {name}" in out for name in COMMANDS), out
    for path, f in _walk(COMMANDS):
        with pytest.raises(SystemExit) as e: main([*path, "--help"])
        out = capsys.readouterr().out
        assert e.value.code == 0 and f"usage: imdb-course {' '.join(path)}" in out and f.__doc__[:40] in " ".join(out.split())


@pytest.mark.parametrize("argv,says", [
    ([], "the following arguments are required: COMMAND"),
    (["grde"], "invalid choice: 'grde'"),
    (["grades"], "the following arguments are required: ACTION"),
    (["grade", "submissions/"], "the following arguments are required: --assignment"),
    (["feedback", "grading/"], "the following arguments are required: --to"),
    (["grades", "export", "grading/", "--format", "blackboard"], "argument --format: invalid choice: 'blackboard'"),
    (["grade", "subs", "--assignment", "a", "--workers", "two"], "argument --workers: invalid int value: 'two'"),
    (["run", "nb.ipynb", "-p", "EPOCHS"], "argument -p/--param: expected 2 arguments"),
])
def test_usage_errors_exit_2_and_name_the_fix(argv, says, capsys):
    with pytest.raises(SystemExit) as e: main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and says in err and "usage: imdb-course" in err, err


def test_errors_of_a_command_exit_2_with_its_name(tmp_path, capsys):
    assert main(["grades", "export", str(tmp_path)]) == 2
    assert "imdb-course grades export: error: say where to write: --out FILE" in capsys.readouterr().err
    assert main(["gradescope", "build"]) == 2
    assert "imdb-course gradescope: error: say which assignment" in capsys.readouterr().err


def test_parsed_values_reach_the_function(monkeypatch, capsys):
    "The parsed arguments are the function's keyword arguments; its return value is the exit code."
    got = {}
    monkeypatch.setattr("imdb_course.instructor.release.check_release", lambda s, a: got.update(s=s, a=a) or ["stale"])
    assert main(["release", "sol", "--check"]) == 1
    assert got == dict(s=Path("sol"), a=Path("assignments")) and "1 problem(s)" in capsys.readouterr().out
