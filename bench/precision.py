"""Precision of mlgate's rules on real ML code: a labelled sample of findings, judged by hand.

    python bench/precision.py lint                 # lint the corpus with today's rules
    python bench/precision.py sample [--per-rule N] # add unjudged findings to judge (seed 13)
    python bench/precision.py show CODE             # print the unjudged ones with their code
    python bench/precision.py                       # precision per rule, from the verdicts

The corpus is the sdists of mlflow, kedro and lightning from PyPI (versions in `PROJECTS`),
unpacked under `bench/.corpus/precision/` and linted with the default rules (an empty
`[tool.mlgate]`). Every finding a reviewer judged is one row of `bench/precision_labels.csv`
(project, path, line, code, verdict, reason); a verdict is `true` (a reviewer would want it
fixed) or `false`. The table counts, per rule, the judged findings the current rules still report
(precision = true / judged and reported) and the true ones they no longer report (lost: must be
0). `sample` draws, with a fixed seed, up to `--per-rule` findings per rule that the current rules
report and nobody judged yet, so a rule change that adds findings gets them judged too.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CORPUS = BENCH / ".corpus" / "precision"
FINDINGS = CORPUS / "findings.json"
LABELS = BENCH / "precision_labels.csv"
PROJECTS = ("kedro-1.7.0", "lightning-2.6.6", "mlflow-3.18.0")
FIELDS = ("project", "path", "line", "code", "verdict", "reason")
SEED = 13
MLGATE = str(Path(sys.executable).with_name("mlgate"))

Key = tuple[str, str, int, str]


def lint() -> int:
    """Lint every project with the default rules; save the findings."""
    found: list[dict[str, object]] = []
    for project in PROJECTS:
        root = CORPUS / project
        (root / "pyproject.toml").write_text("[tool.mlgate]\n", encoding="utf-8")
        argv = [MLGATE, "lint", "--no-cache", "--exit-zero", "--baseline", "none"]
        out = subprocess.run([*argv, "--format", "json", "."], cwd=root, check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        found.extend({**row, "project": project} for row in json.loads(out))
    FINDINGS.write_text(json.dumps(found), encoding="utf-8")
    print(f"{len(found)} findings in {len(PROJECTS)} projects")
    return 0


def current() -> dict[Key, dict[str, object]]:
    """The findings of the last `lint`, by key."""
    rows = json.loads(FINDINGS.read_text(encoding="utf-8"))
    return {(r["project"], r["path"], int(r["line"]), r["code"]): r for r in rows}


def labels() -> dict[Key, dict[str, str]]:
    """The verdicts so far, by key."""
    if not LABELS.exists():
        return {}
    with LABELS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {(r["project"], r["path"], int(r["line"]), r["code"]): r for r in rows}


def save(rows: dict[Key, dict[str, str]]) -> None:
    """Write the verdicts back, sorted by code, project, path and line."""
    ordered = sorted(rows.values(), key=lambda r: (r["code"], r["project"], r["path"],
                                                   int(r["line"])))  # fmt: skip
    with LABELS.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(ordered)


def sample(per_rule: int) -> int:
    """Add up to `per_rule` unjudged current findings per rule (verdict `?`)."""
    found, judged = current(), labels()
    judged = {k: row for k, row in judged.items() if row["verdict"] != "?" or k in found}
    for code in sorted({key[3] for key in found}):
        seen = [k for k in judged if k[3] == code and k in found and judged[k]["verdict"] != "?"]
        fresh = sorted(k for k in found if k[3] == code and k not in judged)
        picked = random.Random(f"{SEED}-{code}").sample(
            fresh, min(len(fresh), max(0, per_rule - len(seen)))
        )
        judged.update({k: dict(zip(FIELDS, (*map(str, k), "?", ""), strict=True)) for k in picked})
    save(judged)
    return 0


def show(code: str) -> int:
    """Print the unjudged findings of `code` with the lines around them."""
    found = current()
    for key, row in labels().items():
        if key[3] != code or row["verdict"] != "?":
            continue
        lines = (CORPUS / key[0] / key[1]).read_text(encoding="utf-8").splitlines()
        message = found.get(key, {}).get("message", "(no longer reported)")
        print(f"=== {key[0]}/{key[1]}:{key[2]} {message}")
        for number in range(max(1, key[2] - 6), min(len(lines), key[2] + 8) + 1):
            print(f"{number:5}{'>' if number == key[2] else ' '} {lines[number - 1]}")
    return 0


def table() -> int:
    """Print precision per rule over the judged findings."""
    found, judged = current(), labels()
    counts: Counter[tuple[str, str]] = Counter()
    for key, row in judged.items():
        status = "reported" if key in found else "gone"
        counts[key[3], f"{status}-{row['verdict']}"] += 1
    print("| rule | findings | judged | true | false | precision | true no longer reported |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for code in sorted({k[3] for k in judged} | {k[3] for k in found}):
        true, false = counts[code, "reported-true"], counts[code, "reported-false"]
        share = f"{100 * true / (true + false):.0f}%" if true + false else "-"
        total = sum(1 for k in found if k[3] == code)
        lost = counts[code, "gone-true"]
        print(f"| {code} | {total} | {true + false} | {true} | {false} | {share} | {lost} |")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch the sub-command."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "command", nargs="?", default="table", choices=("lint", "sample", "show", "table")
    )
    parser.add_argument("code", nargs="?", default="")
    parser.add_argument("--per-rule", type=int, default=20)
    args = parser.parse_args(argv)
    if args.command == "lint":
        return lint()
    if args.command == "sample":
        return sample(args.per_rule)
    return show(args.code) if args.command == "show" else table()


if __name__ == "__main__":
    raise SystemExit(main())
