"""File discovery in real git repositories: .gitignore files, `exclude`, explicit files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlgate.errors import UsageError
from mlgate.linters.config import LintConfig
from mlgate.linters.discovery import discover
from workspace import write


def found(paths: list[str], config: LintConfig | None = None) -> list[str]:
    return discover(paths, config or LintConfig(Path.cwd())).files


def test_gitignore_nested_negation_and_info_exclude(repo: Path) -> None:
    write(
        repo,
        {
            ".gitignore": "*_gen.py\n/top_only.py\nout/\n",
            ".git/info/exclude": "scratch.py\n",
            "a.py": "",
            "top_only.py": "",
            "x_gen.py": "",
            "scratch.py": "",
            "notes.txt": "",
            "script": "print()\n",
            "out/skipped.py": "",
            "pkg/top_only.py": "",
            "pkg/.gitignore": "!keep_gen.py\nlocal.py\n",
            "pkg/keep_gen.py": "",
            "pkg/other_gen.py": "",
            "pkg/local.py": "",
            "pkg/deep/local.py": "",
            "pkg/deep/b.py": "",
            "other/local.py": "",
        },
    )
    assert found(["."]) == [
        "a.py",
        "other/local.py",
        "pkg/deep/b.py",
        "pkg/keep_gen.py",
        "pkg/top_only.py",
    ]


def test_ignore_files_above_a_linted_subfolder_apply(repo: Path) -> None:
    write(repo, {".gitignore": "pkg/skip.py\n", "pkg/skip.py": "", "pkg/keep.py": ""})
    assert found(["pkg"]) == ["pkg/keep.py"]
    os.chdir(repo / "pkg")
    assert found(["."]) == ["keep.py"]


def test_a_folder_named_on_the_command_line_is_linted_even_if_ignored(repo: Path) -> None:
    # The ignore files that ignore the named folder itself then do not apply inside it.
    write(repo, {".gitignore": "/vendor\n*_gen.py\n", "vendor/lib/a.py": "", "vendor/b_gen.py": ""})
    write(repo, {"vendor/.gitignore": "/lib/\n", "other/c_gen.py": "", "other/d.py": ""})
    assert found(["."]) == ["other/d.py"]
    assert found(["vendor"]) == ["vendor/b_gen.py"]
    assert found(["vendor/lib"]) == ["vendor/lib/a.py"]
    assert found(["other"]) == ["other/d.py"]


def test_gitignore_outside_a_repository_applies_inside_the_tree(tmp_path: Path) -> None:
    write(tmp_path, {".gitignore": "b.py\n", "a.py": "", "b.py": ""})
    assert found([str(tmp_path)]) == [str(tmp_path / "a.py")]


def test_exclude_defaults_and_extend(repo: Path) -> None:
    write(
        repo,
        {
            ".venv/lib/x.py": "",
            "build/x.py": "",
            "src/site-packages/x.py": "",
            "notebooks/n.py": "",
            "src/a.py": "",
            "src/a_pb2.py": "",
        },
    )
    assert found(["."]) == ["notebooks/n.py", "src/a.py", "src/a_pb2.py"]
    config = LintConfig(repo, extend_exclude=("notebooks/", "*_pb2.py"))
    assert found(["."], config) == ["src/a.py"]
    config = LintConfig(repo, exclude=("/src/",))
    assert found(["."], config) == [".venv/lib/x.py", "build/x.py", "notebooks/n.py"]


def test_exclude_is_relative_to_the_project_root(repo: Path) -> None:
    write(repo, {"src/gen/a.py": "", "src/b.py": "", "gen/c.py": ""})
    config = LintConfig(repo, exclude=("/src/gen/",))
    os.chdir(repo / "src")
    assert found(["."], config) == ["b.py"]
    assert found(["../gen", "b.py"], config) == ["../gen/c.py", "b.py"]


def test_explicit_files_are_taken_as_given(repo: Path) -> None:
    write(repo, {".gitignore": "ignored.py\n", "ignored.py": "", "tool": "", "build/x.py": ""})
    config = LintConfig(repo, exclude=("tool",))
    assert found(["./ignored.py", "tool", "build/x.py", "ignored.py"], config) == [
        "ignored.py",
        "tool",
        "build/x.py",
    ]


def test_force_exclude_applies_exclude_to_files_named_directly(repo: Path) -> None:
    files = {"src/a.py": "", "src/gen/b.py": "", "build/c.py": "", "d_pb2.py": "", "e.py": ""}
    write(repo, {**files, "../outside.py": ""})
    named = [*files, "../outside.py"]
    config = LintConfig(repo, extend_exclude=("/src/gen/", "*_pb2.py"), force_exclude=True)
    assert found(named, config) == ["src/a.py", "e.py", "../outside.py"]
    os.chdir(repo / "src")
    assert found(["a.py", "gen/b.py", "../build/c.py"], config) == ["a.py"]
    assert found(["."], config) == ["a.py"]


def test_missing_path_is_a_usage_error(repo: Path) -> None:
    with pytest.raises(UsageError, match=r"^nope\.py: no such file or folder$"):
        found(["nope.py"])


def test_symlinked_folders_are_not_followed(repo: Path) -> None:
    write(repo, {"real/a.py": ""})
    (repo / "link").symlink_to(repo / "real", target_is_directory=True)
    (repo / "b.py").symlink_to(repo / "real" / "a.py")
    assert found(["."]) == ["b.py", "real/a.py"]


def test_unreadable_folder_is_reported(repo: Path) -> None:
    # A path longer than PATH_MAX cannot be opened, even by root: build one with dir_fd.
    write(repo, {"b.py": ""})
    names, fd = ["d" * 250] * 17, os.open(repo, os.O_RDONLY)
    try:
        for name in names:
            os.mkdir(name, dir_fd=fd)
            fd, old = os.open(name, os.O_RDONLY, dir_fd=fd), fd
            os.close(old)
    finally:
        os.close(fd)
    result = discover(["."], LintConfig(repo))
    assert result.files == ["b.py"]
    [error] = result.errors
    assert (error.line, error.col, error.code) == (1, 0, "MLG000")
    assert error.message == "cannot read: File name too long"
    assert set(error.path.split("/")) == {"d" * 250}
