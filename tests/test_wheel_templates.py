"""`mlgate init` from a built wheel: the templates are package data, not files of this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from mlgate.init_repo import FILES, PRE_COMMIT, pre_commit_template

ROOT = Path(__file__).resolve().parents[1]


def test_init_works_from_an_installed_wheel(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    (wheel,) = dist.glob("mlgate-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mlgate/templates/workflows/mlgate-release.yml" in names
    assert "mlgate/templates/pyproject.toml" in names
    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site)]
    subprocess.run([*install, str(wheel)], check=True)
    repo = tmp_path / "repo"
    repo.mkdir()
    script = (
        "import mlgate, sys; from mlgate.cli import main; print(mlgate.__file__); "
        "sys.exit(main(['init', sys.argv[1]]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(repo)],
        env={**os.environ, "PYTHONPATH": str(site)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.splitlines()[0] == str(site / "mlgate" / "__init__.py")
    for dest, source in FILES.items():
        if dest == PRE_COMMIT:  # mlgate's hooks pinned to the commit the workflows use
            assert (repo / dest).read_text("utf-8") == pre_commit_template()
        else:
            assert (repo / dest).read_bytes() == (ROOT / "templates" / source).read_bytes()
    assert "[tool.mlgate.profiles.production]" in (repo / "pyproject.toml").read_text()
