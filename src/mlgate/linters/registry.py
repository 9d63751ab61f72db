"""Every rule mlgate has, by code. Codes are final once released and never reused."""

from __future__ import annotations

from mlgate.linters.base import Rule

RULES: dict[str, Rule] = {}
