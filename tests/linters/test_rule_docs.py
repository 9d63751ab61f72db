"""The generated rule reference stays in step with the rule modules."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_rules import SAMPLE_RULES

from mlgate.linters.docs import (
    OPTIONS_END,
    OPTIONS_START,
    TABLE_END,
    TABLE_START,
    RuleInfo,
    main,
    render_options_table,
    render_reference,
    render_table,
    with_options_table,
    with_readme_table,
)
from mlgate.linters.registry import OPTIONS, RULES, declared_options

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
    configuration = tmp_path / "configuration.md"
    configuration.write_text(f"{OPTIONS_START}\nold\n{OPTIONS_END}\n", encoding="utf-8")
    argv = ["--output", str(target), "--readme", str(readme), "--configuration", str(configuration)]
    assert main([*argv, "--check"], SAMPLE_RULES) == 1
    assert main(argv, SAMPLE_RULES) == 0
    assert target.read_text(encoding="utf-8") == render_reference(SAMPLE_RULES)
    table = "\n".join(render_table(SAMPLE_RULES, "linters/README.md"))
    assert readme.read_text(encoding="utf-8") == (
        f"# x\n\n{TABLE_START}\n{table}\n{TABLE_END}\n\nmore\n"
    )
    assert main([*argv, "--check"], SAMPLE_RULES) == 0
    assert main(argv, SAMPLE_RULES) == 0
    assert capsys.readouterr().err == f"stale: {target}, {readme}, {configuration}\nup to date\n"
    assert configuration.read_text(encoding="utf-8") == with_options_table(
        f"{OPTIONS_START}\nold\n{OPTIONS_END}\n", SAMPLE_RULES
    )
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


def test_the_configuration_reference_lists_the_declared_options() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert with_options_table(page, RULES) == page, (
        "docs/configuration.md is stale: run `python -m mlgate.linters.docs`"
    )
    table = render_options_table(RULES)
    assert [row.split("`")[1] for row in table[2:]] == list(OPTIONS)
    meaning = "MLG102: the most parameters a function may take (default `5`)"
    assert f"| `max-parameters` | int | {meaning} |" in table
    assert with_options_table("no markers", RULES) == "no markers"
    assert with_options_table(f"a\n{OPTIONS_START}\nold\n{OPTIONS_END}\nb", SAMPLE_RULES) == (
        f"a\n{OPTIONS_START}\n| Key | Value | Meaning |\n| --- | --- | --- |\n"
        "| `max-function-lines` | int | MLG902: the most code lines a body may have "
        f"(default `20`) |\n{OPTIONS_END}\nb"
    )


@pytest.mark.parametrize("code", sorted(RULES))
def test_a_rules_page_names_each_option_it_declares(code: str) -> None:
    page = RULES[code].__doc__ or ""
    options = page.split("## Options", 1)[1] if RULES[code].OPTIONS else ""
    for option in RULES[code].OPTIONS:
        assert f"`{option.name}`" in options, f"{code}'s page does not document {option.name}"


def test_two_rules_may_share_an_option_but_not_its_name() -> None:
    shared = RULES["MLG202"].OPTIONS
    assert {name for option in shared for name in [option.name]} <= set(OPTIONS)

    class Impostor:
        """MLG998 impostor: declares another option under a taken name."""

        CODE, NAME, CATEGORY, FIX = "MLG998", "impostor", "maintainability", None
        OPTIONS = (type(shared[0])("logger-objects", (), "a different option"),)

    with pytest.raises(ValueError, match="MLG998 declares another option named logger-objects"):
        declared_options({**RULES, "MLG998": Impostor()})  # type: ignore[dict-item]
