"""mlgate: CI/CD and code-quality governance for Python machine-learning teams."""

from __future__ import annotations

__version__ = "0.1.0"
