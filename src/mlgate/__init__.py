"""mlgate: CI/CD and code-quality governance for Python machine-learning teams."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mlgate")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0"
