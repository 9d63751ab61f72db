"""`mlgate lint`: check Python files against the team's rules."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from mlgate.errors import UsageError
from mlgate.linters.adoption import (
    against_baseline,
    baseline_file,
    changed_files,
    describe_profile,
    fix,
    load_baseline,
    on_changed_lines,
    relinted,
    stale_lines,
)
from mlgate.linters.atomic import write_atomic
from mlgate.linters.autofix import Fixer, load_fixer
from mlgate.linters.baseline import BASELINE_FILE
from mlgate.linters.cache import CACHE_DIR
from mlgate.linters.changes import ChangeSet, changed_since
from mlgate.linters.config import LintConfig, enabled_codes, load_lint_config
from mlgate.linters.discovery import Discovery, discover
from mlgate.linters.docs import all_rule_infos
from mlgate.linters.parallel import default_jobs
from mlgate.linters.plan import make_plan
from mlgate.linters.registry import RULES
from mlgate.linters.report import FORMATS, Report, render
from mlgate.linters.run import LintResult, RunOptions, check_one, lint_files, lint_paths

_EPILOG = """\
exit status: 0 no findings (or --exit-zero), 1 findings, 2 usage or configuration error.
settings come from [tool.mlgate] in the nearest pyproject.toml; `mlgate rules` lists the rules
and `mlgate rule CODE` explains one. Suppress one finding with `# noqa: CODE` on its line, a
whole file with a comment line `# mlgate: noqa` (or `# mlgate: noqa: CODE,...`)."""


#: From this many files on, a run on a terminal shows a progress line on stderr.
PROGRESS_FROM = 500


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`mlgate lint [PATH ...]` and its options."""
    parser.epilog = _EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    _add_file_arguments(parser)
    _add_selection_arguments(parser)
    _add_report_arguments(parser)
    _add_adoption_arguments(parser)
    _add_speed_arguments(parser)


def _add_file_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", default=["."], metavar="PATH",
        help="files or folders to lint (default: .); files named here are linted as given "
        "unless --force-exclude; `-` reads one file from standard input",
    )  # fmt: skip
    parser.add_argument(
        "--stdin-filename", metavar="PATH",
        help="with `-`: the path the source on stdin is reported and configured as "
        "(profiles, per-file-ignores)",
    )  # fmt: skip
    parser.add_argument(
        "--config", type=Path, metavar="PYPROJECT",
        help="read [tool.mlgate] from this file instead of the nearest pyproject.toml",
    )  # fmt: skip
    parser.add_argument(
        "--force-exclude", action=argparse.BooleanOptionalAction, default=None,
        help="apply exclude/extend-exclude to files named on the command line too, as the "
        "pre-commit hook does (default: the force-exclude setting, off)",
    )  # fmt: skip


def _add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--select", metavar="CODES",
        help="comma-separated codes or prefixes to check, e.g. MLG1,MLG401 (replaces the config)",
    )  # fmt: skip
    parser.add_argument(
        "--ignore", metavar="CODES", help="comma-separated codes or prefixes not to check"
    )
    parser.add_argument(
        "--show-profile", metavar="PATH",
        help="print which profile, rules and options apply to PATH, and exit",
    )  # fmt: skip


def _add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="text", help="report format")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write the report to FILE")
    parser.add_argument("--statistics", action="store_true", help="count findings per rule")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even with findings")
    parser.add_argument(
        "-q", "--quiet", action="store_true",
        help="print the findings only: no summary line, no notes or warnings on stderr",
    )  # fmt: skip
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="also say on stderr where the settings came from, and how long the run took",
    )  # fmt: skip


def _add_adoption_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--changed-since", metavar="REF",
        help="report only findings on lines changed since the merge base of REF and HEAD "
        "(function-level findings: on any line of the function)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", metavar="PATH|none",
        help=f"report only findings not in this baseline (default: {BASELINE_FILE} at the "
        "project root, when it exists); `none` ignores it",
    )  # fmt: skip
    parser.add_argument(
        "--fix", action="store_true",
        help="apply the safe fixes (needs mlgate[fix]), then report what is left",
    )  # fmt: skip
    parser.add_argument(
        "--show-fixes", action="store_true",
        help="print the safe fixes as a unified diff and change nothing",
    )  # fmt: skip


def _add_speed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-cache", action="store_true",
        help=f"check every file; neither read nor write {CACHE_DIR}/",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", type=_jobs, metavar="N", help="processes to check files with (default: all cores)"
    )


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, not {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    """Lint the paths and print or write the report; 1 when anything new was found."""
    _check_arguments(args)
    with _quiet() if args.quiet else contextlib.nullcontext():
        return _run(args, _config(args))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Notes and warnings (stderr) are dropped; errors still reach `mlgate.cli.main`."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def _run(args: argparse.Namespace, config: LintConfig) -> int:
    if args.show_profile:
        sys.stdout.write(describe_profile(config, args.show_profile, RULES))
        return 0
    fixer = load_fixer() if args.fix or args.show_fixes else None
    changes = None if args.changed_since is None else changed_since(args.changed_since, Path.cwd())
    started = time.perf_counter()
    result = _lint(args, config, changes)
    if fixer is not None and args.show_fixes:
        return _show_fixes(fixer, result, changes)
    if fixer is not None:
        result = _fix(fixer, result, changes, config)
    result = _on_changed(_ratchet(result, args.baseline, config.root), changes)
    if args.verbose:
        _note(*_verbose(args, config, result, time.perf_counter() - started))
    _report(args, result)
    return 0 if args.exit_zero or not result.violations else 1


def _verbose(
    args: argparse.Namespace, config: LintConfig, result: LintResult, took: float
) -> list[str]:
    source = args.config or config.root / "pyproject.toml"
    settings = f"settings from {source}" if source.is_file() else "default settings"
    jobs = args.jobs or default_jobs()
    cache = "off" if args.no_cache else f"in {config.root / CACHE_DIR}"
    return [
        f"{settings}; rules enabled: {', '.join(sorted(enabled_codes(config, RULES)))}",
        f"{result.files} file(s) checked in {took:.2f}s, {jobs} job(s), cache {cache}",
    ]


def _config(args: argparse.Namespace) -> LintConfig:
    config = load_lint_config(args.config, RULES, args.select, args.ignore)
    if args.force_exclude is None:
        return config
    return dataclasses.replace(config, force_exclude=args.force_exclude)


def _check_arguments(args: argparse.Namespace) -> None:
    if args.statistics and args.format not in ("text", "json"):
        raise UsageError("--statistics works with --format text or json")
    if args.fix and args.show_fixes:
        raise UsageError("--fix writes the fixes and --show-fixes only shows them: pick one")
    if args.select is not None and not args.select.strip(" ,"):
        raise UsageError("--select '' checks nothing: name codes or prefixes, e.g. --select MLG1")
    if args.changed_since is not None and not args.changed_since.strip():
        raise UsageError("--changed-since '' names no commit: give a ref, e.g. origin/main")
    if args.quiet and args.verbose:
        raise UsageError("--quiet and --verbose contradict each other: pick one")
    _check_stdin(args)
    inputs = [*args.paths, *([args.stdin_filename] if args.stdin_filename else [])]
    if args.output is not None and _is_input(args.output, inputs):
        raise UsageError(
            f"--output {args.output} is a file being linted: write the report to another "
            "file, e.g. --output mlgate-report.txt"
        )


def _check_stdin(args: argparse.Namespace) -> None:
    if "-" not in args.paths:
        if args.stdin_filename is not None:
            raise UsageError("--stdin-filename names the source read with `-`: add `-` as PATH")
        return
    if len(args.paths) > 1:
        raise UsageError("`-` reads one file from stdin: lint other paths in another run")
    if args.fix or args.changed_since is not None:
        raise UsageError("`-` cannot be used with --fix or --changed-since; --show-fixes works")


def _is_input(output: Path, paths: list[str]) -> bool:
    """Whether `output` is a linted path, or a Python file or notebook inside a linted folder."""
    target = output.resolve()
    inputs = [Path(path).resolve() for path in paths]
    if target in inputs:
        return True
    source = target.suffix in (".py", ".pyi", ".ipynb")
    return source and any(folder in target.parents for folder in inputs)


def _lint(args: argparse.Namespace, config: LintConfig, changes: ChangeSet | None) -> LintResult:
    if args.paths == ["-"]:
        return _lint_stdin(args.stdin_filename or "-", config)
    options = RunOptions(args.jobs or default_jobs(), cache=not args.no_cache)
    if changes is not None:
        return lint_files(changed_files(args.paths, config, changes), config, RULES, options)
    if args.quiet or not sys.stderr.isatty():
        return lint_paths(args.paths, config, RULES, options)
    found = discover(args.paths, config)
    if len(found.files) < PROGRESS_FROM:
        return lint_files(found.files, config, RULES, options, found.errors)
    return _with_progress(found, config, options)


def _with_progress(found: Discovery, config: LintConfig, options: RunOptions) -> LintResult:
    """Lint in about 20 batches, rewriting one progress line on stderr after each."""
    files, parts = found.files, []
    size = max(PROGRESS_FROM // 5, -(-len(files) // 20))
    for start in range(0, len(files), size):
        batch = files[start : start + size]
        errors = found.errors if start == 0 else ()
        parts.append(lint_files(batch, config, RULES, options, errors))
        sys.stderr.write(f"\rmlgate: {start + len(batch)}/{len(files)} files checked")
        sys.stderr.flush()
    sys.stderr.write("\r\033[K")  # the line goes once the run is done
    return _joined(parts)


def _joined(parts: list[LintResult]) -> LintResult:
    """One result from the results of batches, findings in the order one run gives."""
    pairs = [pair for part in parts for pair in zip(part.violations, part.anchors, strict=True)]
    pairs.sort(key=lambda pair: pair[0])
    files = sum(part.files for part in parts)
    checked = tuple(path for part in parts for path in part.checked)
    return LintResult([v for v, _ in pairs], files, tuple(a for _, a in pairs), checked)


def _lint_stdin(path: str, config: LintConfig) -> LintResult:
    """The source on stdin, checked as the file `path` (its profile, its per-file-ignores)."""
    found = check_one(make_plan(config, RULES), path, sys.stdin.buffer.read())
    pairs = sorted(zip(found.violations, found.anchors, strict=True), key=lambda pair: pair[0])
    return LintResult([v for v, _ in pairs], 1, tuple(a for _, a in pairs), (path,))


def _on_changed(result: LintResult, changes: ChangeSet | None) -> LintResult:
    """The findings on changed lines with `--changed-since`, else all of them."""
    return result if changes is None else on_changed_lines(result, changes)


def _show_fixes(fixer: Fixer, result: LintResult, changes: ChangeSet | None) -> int:
    done = fix(_on_changed(result, changes), fixer, False)
    sys.stdout.write("".join(done.diffs))
    _note(f"{done.resolved} fix(es) in {len(done.files)} file(s); --fix applies them")
    return 1 if done.files else 0


def _fix(
    fixer: Fixer, result: LintResult, changes: ChangeSet | None, config: LintConfig
) -> LintResult:
    done = fix(_on_changed(result, changes), fixer, True)
    if done.files:
        _note(f"fixed {done.resolved} finding(s) in {len(done.files)} file(s)")
    return relinted(result, done.files, config, RULES)


def _ratchet(result: LintResult, option: str | None, root: Path) -> LintResult:
    path = baseline_file(option, root)
    baseline = load_baseline(path, root) if path is not None else None
    if baseline is None:
        if option and path is not None:
            raise UsageError(f"--baseline {option}: no such file; create it with `mlgate baseline`")
        return result
    ratchet = against_baseline(result, baseline, root)
    known = len(result.violations) - len(ratchet.result.violations)
    _note(f"{known} finding(s) known to the baseline {path} not reported")
    _note(*stale_lines(ratchet.comparison))
    return ratchet.result


def _note(*lines: str) -> None:
    for line in lines:
        print(f"mlgate: {line}", file=sys.stderr)


def _report(args: argparse.Namespace, result: LintResult) -> None:
    infos = {info.code: info for info in all_rule_infos(RULES)}
    color = args.output is None and _wants_color(os.environ, sys.stdout.isatty())
    summary = not args.quiet
    report = Report(result.violations, result.files, infos, color, args.statistics, summary)
    if not result.files:
        where = "changed since " + args.changed_since if args.changed_since else "found"
        _note(f"warning: no Python file or notebook {where} in {' '.join(args.paths)}")
    emit(render(report, args.format), args.output)


def emit(text: str, output: Path | None) -> None:
    """Print `text`, or write it to `output` atomically."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomic(output, text)
    except OSError as err:
        raise UsageError(f"--output {output}: cannot write: {err.strerror}") from err


def _wants_color(environ: Mapping[str, str], terminal: bool) -> bool:
    """Colour on a terminal; NO_COLOR (non-empty) turns it off, FORCE_COLOR (non-empty) on."""
    if environ.get("NO_COLOR"):
        return False
    return bool(environ.get("FORCE_COLOR")) or terminal
