"""`mlgate lint` and `flake8 --select MLG` agree, on real code and on generated programs; and
`mlgate lint` survives the whole standard library, reporting every unparsable file."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import warnings
from collections.abc import Iterator
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgate.cli import main
from mlgate.linters.base import Options, Violation
from mlgate.linters.checkfile import check_data
from mlgate.linters.engine import apply_noqa, decode_source, make_checker, split_lines
from mlgate.linters.flake8_plugin import Plugin
from mlgate.linters.registry import RULES

ROOT = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
EXAMPLES = int(os.environ.get("MLGATE_HYPOTHESIS_EXAMPLES", "200"))
Finding = tuple[str, int, int, str, str]


def mlgate_findings(folder: Path) -> set[Finding]:
    """(path, line, column, code, message) from `mlgate lint --format json` run in `folder`."""
    report = folder.parent / f"{folder.name}-mlgate.json"
    code = main(["lint", "--format", "json", "--output", str(report), str(folder)])
    assert code in (0, 1)
    return {
        (os.path.relpath(f["path"], folder), f["line"], f["column"], f["code"], f["message"])
        for f in json.loads(report.read_text(encoding="utf-8"))
    }


def flake8_findings(folder: Path) -> set[Finding]:
    """The same from a real `flake8 --select MLG,E902,E999` in `folder` (no config files)."""
    fmt = "%(path)s\t%(row)d\t%(col)d\t%(code)s\t%(text)s"
    command = [sys.executable, "-m", "flake8", "--isolated", "--select", "MLG,E902,E999"]
    done = subprocess.run(
        [*command, f"--format={fmt}", "."], cwd=folder, capture_output=True, text=True, check=False
    )
    assert done.returncode in (0, 1), done.stderr
    rows = (line.split("\t", 4) for line in done.stdout.splitlines())
    return {(os.path.normpath(p), int(r), int(c), code, text) for p, r, c, code, text in rows}


def assert_same_findings(folder: Path) -> set[Finding]:
    """Both front ends find the same in every file both could parse; returns the findings."""
    ours, theirs = mlgate_findings(folder), flake8_findings(folder)
    unparsable = {f[0] for f in ours if f[3] == "MLG000"}
    flake8_unparsable = {f[0] for f in theirs if f[3] in ("E902", "E999")}
    # flake8 tokenizes every file and gives up on some that CPython compiles; mlgate must still
    # report every file that CPython itself cannot parse
    assert all(_parses(str(folder / path)) for path in flake8_unparsable - unparsable)
    skipped = unparsable | flake8_unparsable
    assert {f for f in ours if f[0] not in skipped} == {f for f in theirs if f[0] not in skipped}
    return ours


#: File-level directives, each heading a file with findings: both front ends must agree.
DIRECTIVES = {
    "flake8_all.py": "# flake8: noqa\n",
    "flake8_all_unparsable.py": "# flake8: noqa\ndef f(:\n",
    "flake8_with_codes.py": "# flake8: noqa: MLG201\n",
    "flake8_no_space.py": "#flake8: noqa\n",
    "mlgate_all.py": "# mlgate: noqa\n",
    "mlgate_some_codes.py": "# mlgate: noqa: MLG201\n",
}


def example_files() -> Iterator[tuple[str, str]]:
    """Every rule example that runs with the default options, as (file name, source)."""
    for code, rule in RULES.items():
        for index, example in enumerate((*rule.VALID, *rule.INVALID)):
            if not example.options:
                yield f"{code.lower()}_{index}.py", example.source


def test_flake8_and_mlgate_agree_on_real_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "src", corpus / "src")
    shutil.copytree(ROOT / "tests", corpus / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    for package in ("email", "logging"):
        shutil.copytree(STDLIB / package, corpus / package)
    for name, source in example_files():
        (corpus / "examples" / name).parent.mkdir(exist_ok=True)
        (corpus / "examples" / name).write_text(source, encoding="utf-8")
    (corpus / "broken.py").write_text("def f(:\n", encoding="utf-8")
    swallowed = "try:\n    x = 1\nexcept:\n    pass\n"
    for name, directive in DIRECTIVES.items():
        (corpus / "directives").mkdir(exist_ok=True)
        (corpus / "directives" / name).write_text(directive + swallowed, encoding="utf-8")
    found = assert_same_findings(corpus)
    assert {f[0] for f in found if f[0].startswith("directives/")} == {
        "directives/flake8_no_space.py",
        "directives/mlgate_some_codes.py",
    }
    codes = {f[3] for f in found}
    assert codes >= {*RULES, "MLG000"} - {"MLG303"}, "the corpus should trigger every rule"


@pytest.mark.slow
def test_the_whole_standard_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.mlgate]\nexclude = ["site-packages", "dist-packages"]\n', "utf-8")
    report = tmp_path / "report.json"
    argv = ["lint", "--config", str(config), "--format", "json", "--output", str(report)]
    assert main([*argv, str(STDLIB)]) in (0, 1)
    found = json.loads(report.read_text(encoding="utf-8"))
    reported = {f["path"] for f in found if f["code"] == "MLG000"}
    assert reported == set(unparsable_files(STDLIB))
    assert reported, "the standard library's tests carry deliberately broken files"


def unparsable_files(top: Path) -> Iterator[str]:
    """The .py files under `top` that this Python cannot compile, found independently."""
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in ("site-packages", "dist-packages", "__pycache__")]
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and os.path.isfile(path) and not _parses(path):
                yield path


def _parses(path: str) -> bool:
    with open(path, "rb") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(handle.read())
        except (SyntaxError, ValueError):
            return False
    return True


PROGRAMS = st.one_of(
    hypothesmith.from_grammar().map(str.encode),
    hypothesmith.from_node().map(str.encode),
    st.binary(max_size=300),
)


@pytest.mark.slow
def test_generated_programs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder, checker = tmp_path / "generated", make_checker(RULES)
    folder.mkdir()
    written: list[Path] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same programs on every CI run
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(PROGRAMS)
    def check(data: bytes) -> None:
        path = folder / f"p{len(written)}.py"
        path.write_bytes(data)
        written.append(path)
        found = list(check_data(str(path), data, Options(), checker).violations)
        if not any(v.code == "MLG000" for v in found):
            assert [v._replace(fixable=False) for v in found] == through_the_plugin(path, data)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check()
    assert len(written) >= EXAMPLES
    assert_same_findings(folder)


def through_the_plugin(path: Path, data: bytes) -> list[Violation]:
    """What the flake8 plugin yields for `path`, as mlgate violations with `# noqa` applied."""
    source = decode_source(data, str(path))
    assert isinstance(source, str)
    lines = split_lines(source)
    plugin = Plugin(ast.parse(source), str(path), [line + "\n" for line in lines])
    found = []
    for line, col, text, _ in plugin.run():
        code, message = text.split(" ", 1)
        found.append(Violation(str(path), line, col, code, message))
    return apply_noqa(found, lines, source)
