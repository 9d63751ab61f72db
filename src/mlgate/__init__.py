"""mlgate: CI/CD and code-quality governance for Python machine-learning teams."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def __getattr__(name: str) -> str:
    """`__version__`: the installed distribution's version, which hatch-vcs took from the tag."""
    if name != "__version__":
        raise AttributeError(f"module 'mlgate' has no attribute {name!r}")
    try:
        return version("mlgate")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0.0.0"
