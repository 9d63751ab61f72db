"""The vocabulary shared by the engine and the rules.

A rule is a module (see `Rule`): it names the AST node types it wants and yields findings for
each such node. The engine parses a file once, walks the tree once and hands every node to the
rules registered for its type, together with a `FileContext` holding what rules share.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, cast


class Cell(NamedTuple):
    """Where a notebook finding is: the cell (numbered from 1 among all cells), line in it."""

    number: int
    line: int


class Violation(NamedTuple):
    """One finding: 1-based line, 0-based column (as `ast` gives it), code and message.

    In a notebook, `line` is the line of the `.ipynb` file that stores the code and `cell`
    says where it is in the notebook; elsewhere `cell` is None.
    """

    path: str
    line: int
    col: int
    code: str
    message: str
    cell: Cell | None = None
    fixable: bool = False


class Finding(NamedTuple):
    """What a rule yields; the engine adds the path and the rule's code.

    `fixable` says the rule's `FIX` can rewrite this finding (the rule decides, when it finds).
    """

    line: int
    col: int
    message: str
    fixable: bool = False


class Example(NamedTuple):
    """A rule's example: source, the (line, code) pairs it must produce, option overrides.

    VALID examples expect nothing. `fixed` is the source after `--fix`, for fixable rules.
    """

    source: str
    expected: tuple[tuple[int, str], ...] = ()
    options: tuple[tuple[str, object], ...] = ()
    fixed: str | None = None


OptionValue = int | str | bool | tuple[str, ...]
T = TypeVar("T", int, str, bool, tuple[str, ...])


def _acceptable(_: object) -> str:
    return ""


def at_least_zero(value: int) -> str:
    """An `Option.check` for counts and limits."""
    return "" if value >= 0 else f"must be 0 or more, got {value}"


@dataclass(frozen=True)
class Option(Generic[T]):
    """A rule option, declared by the rule that reads it.

    `name` is the key as `[tool.mlgate]` spells it (`max-parameters`); the kind of value it takes
    is the type of `default`. `check` returns what is wrong with a value ("must be 0 or more,
    got -1"), or "" when the value is acceptable. A rule reads its value with `option.of(...)`.
    """

    name: str
    default: T
    help: str
    check: Callable[[T], str] = _acceptable

    def of(self, options: Options) -> T:
        """This option's value in `options` (its default when not set)."""
        return cast("T", options.mapping.get(self.name, self.default))


@dataclass(frozen=True)
class Options:
    """The rule options that differ from their defaults, as sorted (name, value) pairs.

    Built and checked by `mlgate.linters.registry.build_options`, which knows every rule's
    declarations; `Options()` is every option at its default.
    """

    values: tuple[tuple[str, OptionValue], ...] = ()

    @cached_property
    def mapping(self) -> dict[str, OptionValue]:
        """The values by option name."""
        return dict(self.values)


@dataclass
class FileContext:
    """Per-file facts shared by the rules; built once per file by the engine."""

    path: str
    lines: tuple[str, ...]
    tree: ast.Module
    options: Options
    cache: dict[str, object] = field(default_factory=dict)


class Fix(NamedTuple):
    """A rule's safe rewrite for `mlgate lint --fix`, applied with libcst to fixable findings.

    `node` names the libcst node type a fixable finding points at (`"Call"`,
    `"ExceptHandler"`). `rewrite(tools, original, updated)` returns the rewritten node, or None
    when the fix does not apply; `tools` (`mlgate.linters.fix.FixTools`) holds the libcst module
    and the qualified names of a node, so a rule module never imports libcst itself.
    """

    node: str
    rewrite: Callable[[Any, Any, Any], Any]


class Rule(Protocol):
    """What a rule module provides (modules satisfy this protocol).

    `CATEGORY` is the SARIF tag (`maintainability` or `security`), `OPTIONS` the options it
    reads, `FIX` its rewrite or None.
    """

    CODE: str
    NAME: str
    CATEGORY: str
    NODE_TYPES: tuple[type[ast.AST], ...]
    VALID: tuple[Example, ...]
    INVALID: tuple[Example, ...]

    @property
    def OPTIONS(self) -> tuple[Option[Any], ...]: ...

    @property
    def FIX(self) -> Fix | None: ...

    def check(self, node: ast.AST, ctx: FileContext) -> Iterator[Finding]: ...


RuleRegistry = Mapping[str, Rule]
