"""The vocabulary shared by the engine and the rules.

A rule is a module (see `Rule`): it names the AST node types it wants and yields findings for
each such node. The engine parses a file once, walks the tree once and hands every node to the
rules registered for its type, together with a `FileContext` holding what rules share.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from mlgate.errors import ConfigError


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


class Finding(NamedTuple):
    """What a rule yields; the engine adds the path and the rule's code."""

    line: int
    col: int
    message: str


class Example(NamedTuple):
    """A rule's example: source, the (line, code) pairs it must produce, option overrides.

    VALID examples expect nothing. `fixed` is the source after `--fix`, for fixable rules.
    """

    source: str
    expected: tuple[tuple[int, str], ...] = ()
    options: tuple[tuple[str, object], ...] = ()
    fixed: str | None = None


DEFAULT_ERROR_REPORTERS = (
    "sentry_sdk.capture_exception",
    "sentry_sdk.capture_message",
    "traceback.format_exc",
    "traceback.format_exception",
    "traceback.print_exc",
    "traceback.print_exception",
    "warnings.warn",
)
DEFAULT_PURE_CALLS = (
    "builtins.abs",
    "builtins.all",
    "builtins.any",
    "builtins.bool",
    "builtins.bytes",
    "builtins.callable",
    "builtins.chr",
    "builtins.classmethod",
    "builtins.dict",
    "builtins.divmod",
    "builtins.enumerate",
    "builtins.filter",
    "builtins.float",
    "builtins.format",
    "builtins.frozenset",
    "builtins.getattr",
    "builtins.hasattr",
    "builtins.hash",
    "builtins.int",
    "builtins.isinstance",
    "builtins.issubclass",
    "builtins.iter",
    "builtins.len",
    "builtins.list",
    "builtins.map",
    "builtins.max",
    "builtins.min",
    "builtins.object",
    "builtins.ord",
    "builtins.pow",
    "builtins.property",
    "builtins.range",
    "builtins.repr",
    "builtins.reversed",
    "builtins.round",
    "builtins.set",
    "builtins.slice",
    "builtins.sorted",
    "builtins.staticmethod",
    "builtins.str",
    "builtins.sum",
    "builtins.tuple",
    "builtins.type",
    "builtins.zip",
    "collections.Counter",
    "collections.OrderedDict",
    "collections.defaultdict",
    "collections.deque",
    "collections.namedtuple",
    "contextlib.suppress",
    "contextvars.ContextVar",
    "dataclasses.dataclass",
    "dataclasses.field",
    "datetime.timedelta",
    "datetime.timezone",
    "decimal.Decimal",
    "enum.Enum",
    "enum.IntEnum",
    "enum.auto",
    "functools.partial",
    "logging.getLogger",
    "numpy.arange",
    "numpy.array",
    "numpy.asarray",
    "numpy.dtype",
    "numpy.finfo",
    "numpy.iinfo",
    "numpy.linspace",
    "numpy.ones",
    "numpy.zeros",
    "operator.attrgetter",
    "operator.itemgetter",
    "os.environ.get",
    "os.getenv",
    "os.path.basename",
    "os.path.dirname",
    "os.path.join",
    "pathlib.Path",
    "pathlib.PurePath",
    "pytest.importorskip",
    "pytest.param",
    "pytest.mark.*",
    "re.compile",
    "struct.Struct",
    "threading.Lock",
    "threading.RLock",
    "torch.device",
    "types.MappingProxyType",
    "typing.NamedTuple",
    "typing.NewType",
    "typing.ParamSpec",
    "typing.TypeVar",
    "typing.TypeVarTuple",
    "typing.TypedDict",
    "typing.cast",
)
#: What `function-lines-include` may name, besides the code lines that always count.
FUNCTION_LINE_KINDS = (
    "blank-lines",
    "comment-lines",
    "decorators",
    "docstrings",
    "nested-definitions",
    "signature",
)
_VERSION = re.compile(r"\d+(\.\d+)*")


@dataclass(frozen=True)
class Options:
    """Rule options, as `[tool.mlgate]` spells them with dashes instead of underscores.

    Values are checked on construction; a bad one raises `ConfigError` naming its key.
    """

    max_function_lines: int = 20
    function_lines_include: tuple[str, ...] = ("nested-definitions",)
    max_parameters: int = 5
    logger_objects: tuple[str, ...] = ()
    error_reporters: tuple[str, ...] = DEFAULT_ERROR_REPORTERS
    pure_calls: tuple[str, ...] = DEFAULT_PURE_CALLS
    extend_pure_calls: tuple[str, ...] = ()
    torch_min_version: str = ""
    experiment_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Reject values no rule can work with."""
        for key in ("max_function_lines", "max_parameters"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{_key(key)} must be 0 or more, got {getattr(self, key)}")
        unknown = sorted(set(self.function_lines_include) - set(FUNCTION_LINE_KINDS))
        if unknown:
            choices = ", ".join(FUNCTION_LINE_KINDS)
            raise ConfigError(f"function-lines-include: unknown {unknown[0]!r}; use {choices}")
        if self.torch_min_version and not _VERSION.fullmatch(self.torch_min_version):
            raise ConfigError(
                f'torch-min-version must look like "2.6", got {self.torch_min_version!r}'
            )


def _key(field_name: str) -> str:
    return field_name.replace("_", "-")


@dataclass
class FileContext:
    """Per-file facts shared by the rules; built once per file by the engine."""

    path: str
    lines: tuple[str, ...]
    tree: ast.Module
    options: Options
    cache: dict[str, object] = field(default_factory=dict)


class Rule(Protocol):
    """What a rule module provides (modules satisfy this protocol)."""

    CODE: str
    NAME: str
    NODE_TYPES: tuple[type[ast.AST], ...]
    VALID: tuple[Example, ...]
    INVALID: tuple[Example, ...]

    def check(self, node: ast.AST, ctx: FileContext) -> Iterator[Finding]: ...


RuleRegistry = Mapping[str, Rule]
