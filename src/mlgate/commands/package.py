"""`mlgate package build|scan|verify`: make, check and verify model packages."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlgate.config import load_raw
from mlgate.errors import GateError, UsageError
from mlgate.pipelines.builds import sign_build
from mlgate.pipelines.config import load_scan_config
from mlgate.pipelines.package import BuildOptions, build_package, extract_package, read_package
from mlgate.pipelines.provenance import record_path
from mlgate.pipelines.scan import FileReport, Policy, build_policy, expand_paths, scan_file

BUILDER_HELP = (
    "who builds, kept in the build record beside the package, not in its digest "
    "(default: $MLGATE_BUILDER, $GITHUB_TRIGGERING_ACTOR, $GITHUB_ACTOR, $USER...)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `build`, `scan` and `verify` verbs."""
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=type(parser))
    verbs.required = True
    _add_build(
        verbs.add_parser("build", help="build <out>/<name>-<version>.mlpkg, print its digest")
    )
    scan = verbs.add_parser("scan", help="scan model files or folders for unsafe pickles")
    scan.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="model files or folders")
    scan.add_argument("--allow", action="append", default=[], metavar="PACK", help="enable a pack")
    scan.add_argument("--config", type=Path, metavar="PYPROJECT", help="pyproject.toml to use")
    scan.add_argument("--format", choices=("text", "json"), default="text", help="report format")
    scan.set_defaults(run=run_scan)
    verify = verbs.add_parser("verify", help="re-hash every file of a package")
    verify.add_argument("package", type=Path, metavar="PKG", help="the .mlpkg file")
    verify.add_argument("--digest", help="refuse the package unless its digest is this one")
    verify.set_defaults(run=run_verify)


def _add_build(build: argparse.ArgumentParser) -> None:
    build.add_argument("--config", type=Path, metavar="PYPROJECT", help="pyproject.toml to use")
    build.add_argument(
        "--out", type=Path, metavar="DIR",
        help="output folder (default: [tool.mlgate.package] out, else dist)",
    )  # fmt: skip
    build.add_argument(
        "--meta", action="append", default=[], metavar="KEY=VALUE",
        help="record KEY=VALUE in the manifest (repeatable)",
    )  # fmt: skip
    build.add_argument("--metrics", type=Path, metavar="FILE.json", help="metrics to record")
    build.add_argument("--builder", help=BUILDER_HELP)
    build.add_argument(
        "--sign-with", type=Path, metavar="KEY",
        help="sign the build (digest and builder) with the builder's SSH private key",
    )  # fmt: skip
    build.add_argument("--github-output", action="store_true", help="append to $GITHUB_OUTPUT")
    build.set_defaults(run=run_build)


def run(args: argparse.Namespace) -> int:  # pragma: no cover - argparse dispatches to the verb
    """Dispatch to the verb (each verb sets its own `run`)."""
    code: int = args.run(args)
    return code


def run_build(args: argparse.Namespace) -> int:
    """Build the package and print `<path> <digest>`."""
    options = BuildOptions(
        out_dir=args.out,
        metadata=_meta(args.meta),
        metrics=_metrics(args.metrics),
        builder=args.builder,
    )
    output = os.environ.get("GITHUB_OUTPUT") if args.github_output else None
    if args.github_output and not output:
        raise UsageError("--github-output needs $GITHUB_OUTPUT (set by GitHub Actions)")
    package = build_package(args.config or Path.cwd(), options)
    if args.sign_with is not None:
        sign_build(package, args.sign_with)
    print(f"{package.path} {package.digest}")
    if output:
        with Path(output).open("a", encoding="utf-8") as handle:
            record = record_path(package.path)
            handle.write(f"path={package.path}\ndigest={package.digest}\nrecord={record}\n")
    return 0


def _meta(pairs: Sequence[str]) -> dict[str, str]:
    metadata = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--meta {pair!r}: write KEY=VALUE")
        metadata[key] = value
    return metadata


def _metrics(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UsageError(f"--metrics {path}: cannot read a JSON object ({err})") from err
    if not isinstance(metrics, dict):
        raise UsageError(f"--metrics {path}: must hold a JSON object of metric names to values")
    return metrics


def run_scan(args: argparse.Namespace) -> int:
    """Scan files and folders; exit 1 when any import is not allowed."""
    raw = load_raw(args.config)
    policy = build_policy(load_scan_config(raw), args.allow)
    reports = [report for path in args.paths for report in _scan(path, policy)]
    if args.format == "json":
        print(json.dumps(_json_report(reports), indent=2, sort_keys=True))
    else:
        _print_text(reports)
    return 1 if any(report.findings for report in reports) else 0


def _scan(path: Path, policy: Policy) -> list[FileReport]:
    """Scan a file or folder; a `.mlpkg` is verified, unpacked and its model files scanned."""
    if path.suffix != ".mlpkg" or not path.is_file():
        return [scan_file(item, policy) for item in expand_paths([path])]
    with tempfile.TemporaryDirectory(prefix="mlgate-scan-") as temp:
        root = Path(temp) / "package"
        extract_package(path, root)
        return [
            scan_file(item, policy, label=f"{path}!{item.relative_to(root).as_posix()}")
            for item in expand_paths([root])
        ]


def _json_report(reports: Sequence[FileReport]) -> dict[str, Any]:
    unsafe = any(report.findings for report in reports)
    return {
        "verdict": "unsafe" if unsafe else "safe",
        "files": [
            {
                "path": report.path,
                "format": report.format,
                "globals": list(report.globals),
                "findings": [finding._asdict() for finding in report.findings],
            }
            for report in reports
        ],
    }


def _print_text(reports: Sequence[FileReport]) -> None:
    findings = [finding for report in reports for finding in report.findings]
    for finding in findings:
        print(finding.describe())
    unsafe = sum(1 for report in reports if report.findings)
    verdict = f"{len(findings)} finding(s) in {unsafe} file(s)" if findings else "no findings"
    print(f"scanned {len(reports)} file(s): {verdict}")


def run_verify(args: argparse.Namespace) -> int:
    """Verify a package; print its name, version and digest."""
    package = read_package(args.package)
    if args.digest is not None and package.digest != args.digest:
        raise GateError(
            f"{package.path}: digest {package.digest} is not the expected {args.digest}; "
            "refusing a package that is not the one built"
        )
    manifest = package.manifest
    print(
        f"{package.path}: ok {manifest.name} {manifest.version} {package.digest} "
        f"({len(manifest.files)} files)"
    )
    return 0
