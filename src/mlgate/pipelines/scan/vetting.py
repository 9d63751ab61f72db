"""Which names an `allow` entry may name: data classes only, by a property, not a list.

A pickle calls what it imports with arguments of its choosing (REDUCE), builds instances
(`__new__`, `__init__`) and sets their state (`__setstate__`, `__setattr__`). An entry is
accepted when all of that runs nothing but attribute assignments:

- it names a class (a function or a method can be called with any arguments);
- its instances are neither callable (`__call__`) nor iterators (`__next__`): both call what
  they hold (`functools.partial`, `map`);
- each of `__new__`, `__init__`, `__setstate__` and `__setattr__` it has is `object`'s, or
  belongs to a class a pack vouches for, or is Python code whose statements only assign
  parameters and constants to attributes of `self` (and call `super().__init__` the same way).

Compiled code (C classes) cannot be read, so it is refused unless a pack vouches for it.
The module is imported to check the entry (the configuration is the project's own). A module
that cannot be imported here cannot be checked: the entry is kept, and the scan refuses it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Callable
from types import FunctionType

#: Expressions that can run code: calls, and operators or lookups that call dunder methods.
_RISKY = (
    ast.Call,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.Attribute,
    ast.Subscript,
    ast.BinOp,
)
_BUILDERS = ("__new__", "__init__", "__setstate__", "__setattr__")
_CALLERS = {"__call__": "its instances are callable", "__next__": "its instances are iterators"}


class NotImportable(Exception):
    """The entry's module cannot be imported where mlgate runs."""


def resolve(module: str, name: str) -> object:
    """The object `module.name` names (dotted names walk attributes, as pickle does)."""
    try:
        found: object = importlib.import_module(module)
    except ImportError as err:
        raise NotImportable(module) from err
    for part in name.split("."):
        if not hasattr(found, part):
            raise NotImportable(f"{module}.{name}")
        found = getattr(found, part)
    return found


def why_refused(target: object, vouched: Callable[[type], bool]) -> str | None:
    """Why `target` cannot be allowed (None when building it only sets attributes)."""
    if not isinstance(target, type):
        return "it is not a class: a pickle can call it with any arguments"
    for method, why in _CALLERS.items():
        if _owner(target, method) is not None:
            return f"{why}: they call what a pickle gives them"
    for method in _BUILDERS:
        for owner in _owners(target, method):  # `super()` calls reach every one of them
            problem = None if vouched(owner) else _not_plain(vars(owner)[method], method)
            if problem:
                return problem
    return None


def _owners(target: type, method: str) -> list[type]:
    """Every class of `target`'s MRO (but `object` and `type`) that defines `method`."""
    return [
        klass for klass in target.__mro__ if klass not in (object, type) and method in vars(klass)
    ]


def _owner(target: type, method: str) -> type | None:
    """The class of `target`'s MRO that defines `method` (None: `object` or `type`)."""
    for klass in target.__mro__:
        if method in vars(klass):
            return None if klass in (object, type) else klass
    return None


def _not_plain(function: object, method: str) -> str | None:
    if isinstance(function, staticmethod | classmethod):
        function = function.__func__
    if not isinstance(function, FunctionType):
        return f"its {method} is compiled code mlgate cannot read"
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return f"the source of its {method} cannot be read"
    tree = ast.parse(source).body[0]
    if isinstance(tree, ast.FunctionDef) and all(_plain_statement(item) for item in tree.body):
        return None
    return f"its {method} runs code beyond setting attributes"


def _plain_statement(statement: ast.stmt) -> bool:
    """A docstring, `pass`, `self.x = <no call>` or `super().__init__(<no call>)`."""
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant) or _super_init(statement.value)
    if isinstance(statement, ast.Assign | ast.AnnAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        value = statement.value
        return all(_self_attribute(target) for target in targets) and not _calls(value)
    return False


def _self_attribute(target: ast.expr) -> bool:
    return (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    )


def _super_init(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    inner = node.func.value
    is_super = isinstance(inner, ast.Call) and ast.unparse(inner.func) == "super"
    arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
    return is_super and node.func.attr == "__init__" and not any(map(_calls, arguments))


def _calls(node: ast.AST | None) -> bool:
    """Whether evaluating `node` could call anything (calls, lambdas, comprehensions...)."""
    if node is None:
        return False
    return any(isinstance(item, _RISKY) for item in ast.walk(node))
