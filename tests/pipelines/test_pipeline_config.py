"""`[tool.mlgate.package]` and `[tool.mlgate.scan]` validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.config import RawConfig, load_raw
from mlgate.errors import ConfigError
from mlgate.pipelines.config import (
    DEFAULT_MAX_BYTES,
    PackageConfig,
    ScanConfig,
    load_package_config,
    load_scan_config,
)

BASE = """\
[tool.mlgate.package]
name = "demo"
version = "2.0"
models = ["m.pkl"]
entrypoint = "demo.serve:load"
"""


def load(tmp_path: Path, text: str) -> PackageConfig:
    (tmp_path / "pyproject.toml").write_text(text)
    return load_package_config(load_raw(tmp_path / "pyproject.toml"))


def test_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, BASE)
    assert config == PackageConfig(
        root=tmp_path, name="demo", version="2.0", models=("m.pkl",), entrypoint="demo.serve:load"
    )
    (tmp_path / "src").mkdir()
    assert load(tmp_path, BASE).pythonpath == ("src",)


def test_name_and_version_from_project(tmp_path: Path) -> None:
    text = '[project]\nname = "proj"\nversion = "0.9"\n' + BASE.replace('name = "demo"\n', "")
    config = load(tmp_path, text.replace('version = "2.0"\n', ""))
    assert (config.name, config.version) == ("proj", "0.9")


def test_scan_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.mlgate.scan]\npacks = ["numpy"]\nallow = ["a.B"]\nmax-opcodes = 10\n'
    )
    config = load_scan_config(load_raw(tmp_path / "pyproject.toml"))
    assert config == ScanConfig(("numpy",), ("a.B",), DEFAULT_MAX_BYTES, 10)
    assert load_scan_config(RawConfig({}, None)) == ScanConfig()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('models = ["m.pkl"]', 'models = ["m.pkl"]\nmodel = 1'), "unknown key 'model' (known:"),
        (('name = "demo"', 'name = "../x"'), "name '../x' must be letters, digits"),
        (('version = "2.0"\n', ""), "no version; set 'version' there or in [project]"),
        (('models = ["m.pkl"]', "models = []"), "'models' is required"),
        (('models = ["m.pkl"]', 'models = "m.pkl"'), "'models' must be a list of strings"),
        (('"demo.serve:load"', '"demo.serve"'), "'entrypoint' must be \"module:function\""),
        (('"demo.serve:load"', '"demo.serve:load"\nout = 3'), "'out' must be a string"),
        (('"demo.serve:load"', '"demo.serve:load"\nmetadata = { a = 1 }'), "table of strings"),
        (('"demo.serve:load"', '"demo.serve:load"\nsmoke = [1]'), "array of tables"),
        (('"demo.serve:load"', '"demo.serve:load"\nsmoke = [{ x = 1 }]'), "unknown key 'x'"),
    ],
)
def test_package_errors(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, BASE.replace(*edit))
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.mlgate]\nscan = 1\n", "[tool.mlgate.scan] must be a table"),
        ("[tool.mlgate.scan]\nmax-bytes = 0\n", "'max-bytes' must be a positive integer"),
        ("[tool.mlgate.scan]\nmax-opcodes = true\n", "'max-opcodes' must be a positive"),
        ("[tool.mlgate.scan]\npack = []\n", "unknown key 'pack' (known: allow, max-bytes"),
    ],
)
def test_scan_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_scan_config(load_raw(tmp_path / "pyproject.toml"))
    assert message in str(err.value)
