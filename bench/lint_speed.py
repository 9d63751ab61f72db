"""Time `mlgate lint` against the parse floor and the linters it sits beside, on pinned code.

    python bench/lint_speed.py [--repeat N] [--corpus-only] [--packages NAME ...] [--tools NAME ...]

The corpus is the Python source of pinned wheels from PyPI (exact file names and sha256 below,
checked before anything is unpacked), unpacked into ``bench/.corpus/``. Every tool is installed at
pinned versions into its own venv under ``bench/`` (``.venv-tools``, ``.venv-flake8``,
``.venv-mlgate``; mlgate itself from this checkout, editable), because flake8 runs every installed
plugin whatever ``--select`` says. Each tool runs as a whole process with the corpus folder as its
working directory, round-robin, ``--repeat`` times; the table gives the median wall time, the
median CPU time of the process and its children, the ratio to ``mlgate lint`` and the number of
findings it printed. See bench/README.md for the last numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

WHEEL_PLATFORM = ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11")
WHEEL_ABI = ("--implementation", "cp", "--abi", "cp311")
FINDING_LINE = r"^[^\s:][^:\n]*:\d+:\d+:? "
NEAREST_RUFF = "PLR0915,PLR0913,PLR0917,E722,BLE001,S110,S112,S301,S506,PLW0603"
NEAREST_PYLINT = (
    "too-many-statements,too-many-arguments,too-many-positional-arguments,"
    "broad-exception-caught,bare-except,global-statement"
)
PYLINT_TEMPLATE = "{path}:{line}:{column}: {msg_id} {msg}"
BANDIT_TEMPLATE = "{relpath}:{line}:{col}: {test_id} {msg}"
# The nearest checks of each tool, thresholds set to mlgate's defaults where the tool has one.
FLAKE8_PLUGINS_ARGV = (
    "flake8",
    "--isolated",
    "--max-function-length=20",
    "--max-parameters-amount=5",
    "--select=CFQ001,CFQ002,B,S,E722",
    "--exit-zero",
)
PYLINT_ARGV = (
    "pylint",
    "--rcfile=pylintrc",
    "--disable=all",
    f"--enable={NEAREST_PYLINT}",
    "--max-statements=20",
    "--exit-zero",
    f"--msg-template={PYLINT_TEMPLATE}",
)
RUFF_ARGV = (
    "ruff",
    "check",
    "--isolated",
    "--no-cache",
    "--no-respect-gitignore",
    "--exit-zero",
    "--output-format=concise",
    f"--select={NEAREST_RUFF}",
    ".",
)
BANDIT_ARGV = (
    "bandit",
    "-q",
    "-r",
    ".",
    "-f",
    "custom",
    "--exit-zero",
    f"--msg-template={BANDIT_TEMPLATE}",
)
FLAKE8_PINS = ("flake8==7.5.0", "mccabe==0.7.0", "pycodestyle==2.15.0", "pyflakes==4.1.0")
PLUGIN_PINS = (
    "flake8-functions==0.1.0",
    "flake8-bugbear==26.10.27",
    "flake8-bandit==4.1.1",
    "attrs==26.1.0",
    "mypy_extensions==1.2.0",
)
LINTER_PINS = (
    "ruff==0.17.6",
    "pylint==4.1.4",
    "astroid==4.3.4",
    "dill==0.4.1",
    "isort==9.0.2",
    "platformdirs==4.14.8",
    "tomlkit==0.15.2",
    "bandit==1.9.4",
    "PyYAML==6.0.4",
    "rich==15.0.0",
    "markdown-it-py==4.3.0",
    "mdurl==0.1.2",
    "Pygments==2.21.0",
    "stevedore==5.10.0",
)


LINT = "mlgate lint (1 process)"
FLOOR = "ast.parse floor (1 process)"
PLUGINS_J1 = "flake8 + functions, bugbear, bandit (-j1)"
PLUGINS_J2 = "flake8 + functions, bugbear, bandit (-j2)"
FLAKE8 = "flake8 defaults (-j1)"
FLAKE8_MLGATE = "flake8 defaults + mlgate plugin (-j1)"


Results = dict[str, list["Sample"]]


class BenchError(Exception):
    """Something the benchmark cannot go on without; the message says what to do."""


class Archive(NamedTuple):
    """One pinned wheel whose Python sources join the corpus."""

    name: str
    version: str
    filename: str
    sha256: str


class Tool(NamedTuple):
    """One timed command: a row of the table. ``{files}`` in argv expands to every file."""

    name: str
    venv: str
    argv: tuple[str, ...]
    slow: bool = False  # runs ``--slow-repeat`` times instead of ``--repeat``
    counts: bool = True  # prints one line per finding


class Sample(NamedTuple):
    """One whole-process run of a tool."""

    wall: float
    cpu: float
    findings: int


def archives() -> tuple[Archive, ...]:
    """The pinned corpus wheels, first the default set (scikit-learn alone is 381k lines)."""
    return (
        Archive(
            "scikit-learn",
            "1.9.1",
            "scikit_learn-1.9.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
            "52a0703bbc07ad27f560fa63fa68e4c54dd735bfbbf65b4dd3c225dc7547b6df",
        ),
        Archive(
            "pandas",
            "3.1.1",
            "pandas-3.1.1-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
            "4f1602f614bb83f443381dbcbb94c4ac764b2e50c8d6c965614c5cd83e328c47",
        ),
        Archive(
            "transformers",
            "5.24.0",
            "transformers-5.24.0-py3-none-any.whl",
            "ff5ebedf9359f94bb63772b6380eba6e7104d010cbbb2cb82c788817ea7486f6",
        ),
    )


def venv_requirements(repo: Path) -> dict[str, tuple[str, ...]]:
    """What each bench venv holds; flake8 alone, flake8 with mlgate, and every other tool."""
    return {
        "flake8": FLAKE8_PINS,
        "mlgate": (*FLAKE8_PINS, "pathspec==1.1.1", "-e", str(repo)),
        "tools": (*FLAKE8_PINS, *PLUGIN_PINS, *LINTER_PINS),
    }


def mlgate_tools(lint_help: str) -> tuple[Tool, ...]:
    """The floor and mlgate rows; ``--jobs 1``/``--no-cache`` are used once mlgate has them."""
    floor = ("python", str(Path(__file__).with_name("parse_floor.py")))
    single = ("--jobs", "1") if "--jobs" in lint_help else ()
    cold = ("--no-cache",) if "--no-cache" in lint_help else ()
    lint = ("mlgate", "lint", "--exit-zero", *cold)
    rows = [
        Tool(FLOOR, "mlgate", (*floor, "."), counts=False),
        Tool("ast.parse + ast.walk (1 process)", "mlgate", (*floor, "--walk", "."), counts=False),
        Tool(LINT, "mlgate", (*lint, *single, ".")),
    ]
    if single:
        rows.append(Tool("mlgate lint (default jobs)", "mlgate", (*lint, ".")))
    return tuple(rows)


def other_tools() -> tuple[Tool, ...]:
    """The nearest checks of each linter, configured as close to mlgate's rules as they go."""
    flake8 = ("flake8", "--isolated", "-j1", "--exit-zero", ".")
    return (
        Tool("ruff, nearest rules", "tools", RUFF_ARGV),
        Tool(PLUGINS_J1, "tools", (*FLAKE8_PLUGINS_ARGV, "-j1", "."), slow=True),
        Tool(PLUGINS_J2, "tools", (*FLAKE8_PLUGINS_ARGV, "-j2", "."), slow=True),
        Tool("pylint, nearest checks (-j1)", "tools", (*PYLINT_ARGV, "-j1", "{files}"), slow=True),
        Tool("pylint, nearest checks (-j2)", "tools", (*PYLINT_ARGV, "-j2", "{files}"), slow=True),
        Tool("bandit", "tools", BANDIT_ARGV, slow=True),
        Tool(FLAKE8, "flake8", flake8),
        Tool(FLAKE8_MLGATE, "mlgate", flake8),
    )


def select_tools(tools: tuple[Tool, ...], wanted: Sequence[str]) -> tuple[Tool, ...]:
    """The rows whose name contains one of ``wanted`` (all if empty)."""
    keep = wanted or ("",)
    return tuple(tool for tool in tools if any(word in tool.name for word in keep))


def run_checked(argv: Sequence[str], what: str, cwd: Path | None = None) -> str:
    """Run a set-up command; return its stdout, or raise with its stderr when it fails."""
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise BenchError(f"could not {what} (exit {proc.returncode}): {' / '.join(detail)}")
    return proc.stdout


def sha256(path: Path) -> str:
    """The hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(archive: Archive, folder: Path) -> Path:
    """The pinned wheel, downloaded with pip unless cached; raise if its sha256 is not the pin."""
    path = folder / archive.filename
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            pip = (sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp)
            wheel = ("--only-binary", ":all:", *WHEEL_PLATFORM, *WHEEL_ABI)
            run_checked(
                (*pip, *wheel, f"{archive.name}=={archive.version}"), f"download {path.name}"
            )
            if not (Path(tmp) / archive.filename).exists():
                raise BenchError(
                    f"pip fetched {os.listdir(tmp)}, not the pinned {archive.filename}"
                )
            os.replace(Path(tmp) / archive.filename, path)
    digest = sha256(path)
    if digest != archive.sha256:
        raise BenchError(f"{path}: sha256 {digest} is not the pinned {archive.sha256}; delete it")
    return path


def extract_sources(wheel: Path, dest: Path) -> None:
    """Unpack the ``.py`` files of a wheel (zipfile keeps every member inside ``dest``)."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if member.filename.endswith(".py") and ".dist-info/" not in member.filename:
                archive.extract(member, dest)


def write_project_files(tree: Path) -> None:
    """Make the corpus a project of its own: its own git repository and empty tool configs.

    The corpus sits in an ignored folder of mlgate's checkout; without this, tools would read
    mlgate's own configuration and skip every file as ignored.
    """
    (tree / "pyproject.toml").write_text("# mlgate's default rules\n[tool.mlgate]\n")
    (tree / "pylintrc").write_text("[MAIN]\n")
    identity = ("-c", "user.name=mlgate bench", "-c", "user.email=bench@localhost")
    run_checked(("git", "init", "-q"), "git init the corpus", tree)
    run_checked(("git", "add", "-A"), "git add the corpus", tree)
    run_checked(("git", *identity, "commit", "-q", "-m", "corpus"), "commit the corpus", tree)


def unpack(selected: Sequence[Archive], cache: Path) -> Path:
    """The corpus folder for ``selected``, built once (in a temporary folder, then renamed)."""
    tree = cache / "trees" / "+".join(f"{item.name}-{item.version}" for item in selected)
    if tree.exists():
        return tree
    tree.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=tree.parent, prefix=".partial-"))
    for item in selected:
        extract_sources(fetch(item, cache / "archives"), partial / f"{item.name}-{item.version}")
    write_project_files(partial)
    os.replace(partial, tree)
    return tree


def python_files(tree: Path) -> list[Path]:
    """The corpus's ``.py`` files, sorted, relative to ``tree``."""
    return sorted(path.relative_to(tree) for path in tree.rglob("*.py"))


def describe_corpus(selected: Sequence[Archive], tree: Path) -> str:
    """One line per package (version, sha256, files, lines) and a total line."""
    rows, total_files, total_lines = [], 0, 0
    for item in selected:
        files = python_files(tree / f"{item.name}-{item.version}")
        lines = sum(
            len((tree / f"{item.name}-{item.version}" / f).read_bytes().splitlines()) for f in files
        )
        rows.append(f"  {item.filename}  sha256:{item.sha256}  {len(files)} files, {lines:,} lines")
        total_files, total_lines = total_files + len(files), total_lines + lines
    rows.append(f"  total: {total_files} files, {total_lines:,} lines of Python in {tree}")
    return "\n".join(rows)


def ensure_venv(name: str, requirements: Sequence[str], bench: Path, marker: str = "") -> Path:
    """The bench venv ``name`` holding ``requirements``, rebuilt when they or ``marker`` change."""
    venv = bench / f".venv-{name}"
    stamp, wanted = venv / "bench-requirements.txt", "\n".join((*requirements, marker))
    if stamp.exists() and stamp.read_text() == wanted:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    run_checked((sys.executable, "-m", "venv", str(venv)), f"create {venv}")
    pip = (str(venv / "bin" / "python"), "-m", "pip", "install", "-q")
    run_checked((*pip, *requirements), f"install {' '.join(requirements)} into {venv}")
    stamp.write_text(wanted)
    return venv


def child_env() -> dict[str, str]:
    """The environment the tools run in: bytecode caching on, as on a developer's machine."""
    drop = ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONPROFILEIMPORTTIME")
    return {key: value for key, value in os.environ.items() if key not in drop}


def command(tool: Tool, tree: Path, bench: Path) -> list[str]:
    """The argv of one tool run: its program from its venv, ``{files}`` expanded."""
    argv = [str(bench / f".venv-{tool.venv}" / "bin" / tool.argv[0])]
    for arg in tool.argv[1:]:
        expanded = [str(path) for path in python_files(tree)] if arg == "{files}" else [arg]
        argv.extend(expanded)
    return argv


def count_findings(output: Path) -> int:
    """How many ``path:line:col: ...`` lines a tool printed."""
    return len(re.findall(FINDING_LINE, output.read_text(errors="replace"), re.MULTILINE))


def run_once(tool: Tool, tree: Path, bench: Path, output: Path) -> Sample:
    """Time one whole-process run of ``tool`` over the corpus; its stdout goes to ``output``."""
    argv = command(tool, tree, bench)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with output.open("wb") as stdout:
        proc = subprocess.run(
            argv, cwd=tree, stdout=stdout, stderr=subprocess.PIPE, env=child_env(), check=False
        )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        tail = " / ".join(proc.stderr.decode(errors="replace").strip().splitlines()[-3:])
        raise BenchError(f"{tool.name} exited {proc.returncode}: {tail}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Sample(wall, cpu, count_findings(output))


def measure(tools: Sequence[Tool], runs: tuple[int, int], tree: Path, bench: Path) -> Results:
    """Run each tool ``runs`` times (fast, slow), round-robin so that load drift is shared."""
    samples: Results = {tool.name: [] for tool in tools}
    outputs = tree.parent.parent / "output"
    outputs.mkdir(exist_ok=True)
    for round_number in range(1, max(runs) + 1):
        for tool in tools:
            if round_number > runs[tool.slow]:
                continue
            output = outputs / (re.sub(r"\W+", "-", tool.name).strip("-") + ".txt")
            sample = run_once(tool, tree, bench, output)
            samples[tool.name].append(sample)
            print(f"  [{round_number}] {tool.name}: {sample.wall:.2f} s", file=sys.stderr)
    return samples


def medians(runs: Sequence[Sample]) -> Sample:
    """Median wall and CPU time; the findings of the last run."""
    wall = statistics.median(sample.wall for sample in runs)
    return Sample(wall, statistics.median(sample.cpu for sample in runs), runs[-1].findings)


def table(tools: Sequence[Tool], samples: Results) -> str:
    """The results as a Markdown table, with wall and CPU times as ratios to `mlgate lint`."""
    base = medians(samples[LINT]) if LINT in samples else None
    rows = [
        "| tool | runs | wall s (median) | x mlgate lint | CPU s (median) | x mlgate lint |"
        " findings |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tool in tools:
        row = medians(samples[tool.name])
        wall_ratio = f"{row.wall / base.wall:.2f}" if base else "-"
        cpu_ratio = f"{row.cpu / base.cpu:.2f}" if base else "-"
        findings = f"{row.findings:,}" if tool.counts else "-"
        cells = (
            tool.name,
            len(samples[tool.name]),
            f"{row.wall:.2f}",
            wall_ratio,
            f"{row.cpu:.2f}",
        )
        rows.append("| " + " | ".join(map(str, (*cells, cpu_ratio, findings))) + " |")
    return "\n".join(rows)


def verdicts(samples: Results) -> list[str]:
    """The targets (ANCHORS "Speed"), each with its measured ratio, for the rows measured."""
    wall = {name: medians(runs).wall for name, runs in samples.items()}
    checks = (
        (LINT, FLOOR, "mlgate lint / ast.parse floor", 3.0),
        (LINT, PLUGINS_J1, "mlgate lint / flake8 + nearest plugins (-j1)", 1.0),
        (FLAKE8_MLGATE, FLAKE8, "flake8 + mlgate plugin / flake8 defaults", 1.15),
    )
    lines = []
    for measured, reference, label, target in checks:
        if measured in wall and reference in wall:
            ratio = wall[measured] / wall[reference]
            verdict = "met" if ratio <= target else "MISSED"
            lines.append(f"{label}: {ratio:.2f} (target <= {target:.2f}: {verdict})")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of the benchmark."""
    names = [item.name for item in archives()]
    parser = argparse.ArgumentParser(description="Time mlgate lint against other Python linters.")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; the median counts")
    parser.add_argument("--slow-repeat", type=int, help="runs of pylint, bandit, flake8 + plugins")
    parser.add_argument(
        "--corpus-only", action="store_true", help="fetch, check, unpack, count, stop"
    )
    parser.add_argument(
        "--packages", nargs="+", choices=names, default=names[:1], help="corpus wheels"
    )
    parser.add_argument(
        "--tools", nargs="+", default=[], metavar="WORD", help="only rows naming WORD"
    )
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parent / ".corpus")
    args = parser.parse_args(argv)
    args.slow_repeat = args.slow_repeat or args.repeat
    if min(args.repeat, args.slow_repeat) < 1:
        parser.error("--repeat and --slow-repeat must be at least 1")
    return args


def prepare_tools(repo: Path, bench: Path, wanted: Sequence[str]) -> tuple[Tool, ...]:
    """Build the venvs, byte-compile mlgate, and return the rows to time."""
    pyproject = f"# pyproject.toml sha256 {sha256(repo / 'pyproject.toml')}"  # mlgate's own deps
    venvs = {
        name: ensure_venv(name, reqs, bench, pyproject if name == "mlgate" else "")
        for name, reqs in venv_requirements(repo).items()
    }
    python = str(venvs["mlgate"] / "bin" / "python")
    subprocess.run(
        (python, "-m", "compileall", "-q", str(repo / "src")), env=child_env(), check=True
    )
    lint_help = run_checked(
        (str(venvs["mlgate"] / "bin" / "mlgate"), "lint", "--help"), "run mlgate lint --help"
    )
    return select_tools((*mlgate_tools(lint_help), *other_tools()), wanted)


def machine() -> str:
    """The facts that make timings comparable: Python, cores, load when the run started."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"Python {sys.version.split()[0]} on {os.cpu_count()} cores, load average {load}"


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare the corpus (and the tools), time them, print the table."""
    args = parse_args(argv)
    selected = [item for item in archives() if item.name in args.packages]
    bench = Path(__file__).resolve().parent
    try:
        tree = unpack(selected, args.cache.resolve())
        print(f"corpus:\n{describe_corpus(selected, tree)}")
        if args.corpus_only:
            return 0
        tools = prepare_tools(bench.parent, bench, args.tools)
        print(machine())
        samples = measure(tools, (args.repeat, args.slow_repeat), tree, bench)
    except BenchError as err:
        print(f"lint_speed: {err}", file=sys.stderr)
        return 2
    print(table(tools, samples))
    print("\n".join(verdicts(samples)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
