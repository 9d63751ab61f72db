"""A real local target for an environment table, shared by the local-target tests."""

from __future__ import annotations

from pathlib import Path

from mlgate.pipelines.environments import LocalSettings, release_config
from mlgate.pipelines.local_target import LocalTarget
from mlgate.pipelines.runtime import LocalProcesses, SystemClock


def local_target(project: Path, table: str) -> LocalTarget:
    """The `staging` environment's local target, configured by the inline TOML `table`."""
    project.mkdir(parents=True, exist_ok=True)
    config = project / "pyproject.toml"
    config.write_text(f"[tool.mlgate.environments.staging]\ntarget = {table}\n")
    settings = release_config(config, {}).environment("staging").target
    assert isinstance(settings, LocalSettings)
    return LocalTarget(settings, LocalProcesses(), SystemClock())
