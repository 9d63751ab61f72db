"""The generated rule reference stays in step with the rule modules."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_rules import SAMPLE_RULES

from mlgate.linters.docs import (
    TABLE_END,
    TABLE_START,
    RuleInfo,
    main,
    render_reference,
    render_table,
    with_readme_table,
)
from mlgate.linters.registry import RULES

ROOT = Path(__file__).resolve().parents[2]


def test_linters_readme_is_up_to_date() -> None:
    reference = ROOT / "linters" / "README.md"
    assert reference.read_text(encoding="utf-8") == render_reference(RULES), (
        "linters/README.md is stale: run `python -m mlgate.linters.docs`"
    )


def test_reference_has_a_table_anchors_and_demoted_headings() -> None:
    text = render_reference(SAMPLE_RULES)
    summary = "a `global` statement | with a pipe in the summary."
    escaped = summary.replace("|", "\\|")
    assert f"| [MLG903](#mlg903) | global-seen | {escaped} |" in text
    assert (
        '<a id="mlg902"></a>\n\n## MLG902 long-function\n\na function with more statements '
        "than `max-function-lines`.\n\n### What it does\n"
    ) in text
    assert "```python\n# a comment inside a fence is not a heading\n```" in text
    assert text.endswith(f"## MLG903 global-seen\n\n{summary}\n")
    assert text.index("## MLG000") < text.index("## MLG901") < text.index("## MLG903")


def test_summary_drops_the_title_prefix() -> None:
    assert RuleInfo("MLG1", "x", "MLG1 x: does things").summary == "does things"
    assert RuleInfo("MLG1", "x", "MLG1 - does things").summary == "does things"
    assert RuleInfo("MLG1", "x", "Does things.").summary == "Does things."


def test_main_writes_then_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target, readme = tmp_path / "out" / "README.md", tmp_path / "README.md"
    readme.write_text(f"# x\n\n{TABLE_START}\nold\n{TABLE_END}\n\nmore\n", encoding="utf-8")
    argv = ["--output", str(target), "--readme", str(readme)]
    assert main([*argv, "--check"], SAMPLE_RULES) == 1
    assert main(argv, SAMPLE_RULES) == 0
    assert target.read_text(encoding="utf-8") == render_reference(SAMPLE_RULES)
    table = "\n".join(render_table(SAMPLE_RULES, "linters/README.md"))
    assert readme.read_text(encoding="utf-8") == (
        f"# x\n\n{TABLE_START}\n{table}\n{TABLE_END}\n\nmore\n"
    )
    assert main([*argv, "--check"], SAMPLE_RULES) == 0
    assert main(argv, SAMPLE_RULES) == 0
    assert capsys.readouterr().err == f"stale: {target}, {readme}\nup to date\n"
    readme.unlink()
    assert main([*argv, "--check"], {}) == 1


def test_readme_without_markers_is_left_alone() -> None:
    assert with_readme_table("# x\n", SAMPLE_RULES) == "# x\n"


def test_readme_rules_table_is_up_to_date() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert TABLE_START in readme
    assert with_readme_table(readme, RULES) == readme, (
        "README.md's rules table is stale: run `python -m mlgate.linters.docs`"
    )
