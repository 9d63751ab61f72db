"""Which names an `allow` entry may name: data classes only, by a property, not a list.

A pickle calls what it imports with arguments of its choosing (REDUCE), builds instances
(`__new__`, `__init__`) and sets their state (`__setstate__`, `__setattr__`). An entry is
accepted when all of that runs nothing but attribute assignments:

- it names a class (a function or a method can be called with any arguments), whose
  metaclass's `__call__` is `type`'s (or a vouched class's);
- its instances are neither callable (`__call__`) nor iterators (`__next__`): both call what
  they hold (`functools.partial`, `map`);
- each of `__new__`, `__init__`, `__setstate__` and `__setattr__` it has is `object`'s, or
  belongs to a class a pack vouches for, or is Python code whose statements only assign
  parameters and constants to attributes of `self` (and call `super().__init__` the same way);
  the values assigned call nothing: no call, operator, comparison, f-string, truth test,
  unpacking or hashing of what the pickle gave;
- setting an attribute runs the same kind of code only: a property's setter (or a Python
  descriptor's `__set__`) is as plain as a builder;
- the methods the unpickler or the first use of the object reaches by itself are not Python
  code of the class: attribute lookup (`__getattr__`, `__getattribute__`, BUILD looks up
  `__setstate__`), finalization (`__del__`), the container methods APPEND(S), SETITEM(S) and
  ADDITEMS call (`append`, `extend`, `add`, `__setitem__`), hashing and equality (`__hash__`,
  `__eq__`: a dict key) and numpy's `__array_finalize__`. They may be `object`'s, a builtin
  container's, or a vouched class's.

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
from types import FunctionType, GetSetDescriptorType, MemberDescriptorType

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
    ast.JoinedStr,  # `format` of what the pickle gave
    ast.Compare,  # `__eq__`, `__lt__`, `__contains__`...
    ast.UnaryOp,  # `__neg__`, `__invert__`, `__bool__` (`not`)
    ast.BoolOp,  # `__bool__`
    ast.IfExp,  # `__bool__`
    ast.Starred,  # `__iter__`
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
)
#: Methods reached without being named by the pickle: never Python code of the class.
_REACHED = (
    "__getattr__",
    "__getattribute__",
    "__del__",
    "append",
    "extend",
    "add",
    "__setitem__",
    "__hash__",
    "__eq__",
    "__array_finalize__",
)
#: The descriptors of `__slots__`, `__dict__` and C attributes: they store a value, no more.
_STORING = (MemberDescriptorType, GetSetDescriptorType)
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
    for check in (_metaclass, _callers, _builders, _reached, _setters):
        problem = check(target, vouched)
        if problem:
            return problem
    return None


def _metaclass(target: type, vouched: Callable[[type], bool]) -> str | None:
    """Calling the class runs its metaclass's `__call__`."""
    for owner in _owners(type(target), "__call__"):
        if not vouched(owner):
            return "its metaclass defines __call__: calling the class runs it"
    return None


def _callers(target: type, vouched: Callable[[type], bool]) -> str | None:
    for method, why in _CALLERS.items():
        if _owner(target, method) is not None:
            return f"{why}: they call what a pickle gives them"
    return None


def _builders(target: type, vouched: Callable[[type], bool]) -> str | None:
    for method in _BUILDERS:
        for owner in _owners(target, method):  # `super()` calls reach every one of them
            problem = None if vouched(owner) else _not_plain(vars(owner)[method], method)
            if problem:
                return problem
    return None


def _reached(target: type, vouched: Callable[[type], bool]) -> str | None:
    """Python code for a method the unpickler or a dict reaches by itself."""
    for method in _REACHED:
        for owner in _owners(target, method):
            if not vouched(owner) and _python(vars(owner)[method]):
                return f"its {method} is Python code the unpickler or a first use reaches"
    return None


def _python(value: object) -> bool:
    """Whether a class attribute is Python code (a function, or a wrapped one)."""
    if isinstance(value, staticmethod | classmethod | property):
        return True
    return isinstance(value, FunctionType) or hasattr(value, "__wrapped__")


def _setters(target: type, vouched: Callable[[type], bool]) -> str | None:
    """A data descriptor runs code when a builder or BUILD sets its attribute: BUILD without
    `__setstate__` sets any attribute (the slot state), a builder the ones it assigns."""
    default_build = _owner(target, "__setstate__") is None
    names = set() if default_build else _assigned(target, vouched)
    for owner in target.__mro__:
        if owner in (object, type) or vouched(owner):
            continue
        for name, value in vars(owner).items():
            problem = _setter_problem(name, value) if default_build or name in names else None
            if problem:
                return problem
    return None


def _assigned(target: type, vouched: Callable[[type], bool]) -> set[str]:
    """The attributes of `self` the Python builders of `target` assign."""
    names: set[str] = set()
    for method in _BUILDERS:
        for owner in _owners(target, method):
            function = _function(vars(owner)[method])
            if vouched(owner) or not isinstance(function, FunctionType):
                continue
            tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
            names |= {
                node.attr
                for node in ast.walk(tree)
                if isinstance(node, ast.Attribute) and _self_attribute(node)
            }
    return names


def _function(value: object) -> object:
    return value.__func__ if isinstance(value, staticmethod | classmethod) else value


def _setter_problem(name: str, value: object) -> str | None:
    if isinstance(value, property):
        fset = value.fset
        return None if fset is None else _not_plain(fset, f"setter of {name}")
    kind = type(value)
    if not hasattr(kind, "__set__") or isinstance(value, _STORING):
        return None
    setter = getattr(kind, "__set__", None)
    if isinstance(setter, FunctionType):
        return _not_plain(setter, f"descriptor {name}'s __set__")
    return f"its attribute {name} is set by compiled code mlgate cannot read"


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
    """Whether evaluating `node` could call anything (calls, lambdas, comprehensions,
    operators, truth tests, hashing a key of a dict or set display...)."""
    if node is None:
        return False
    return any(isinstance(item, _RISKY) or _hashes(item) for item in ast.walk(node))


def _hashes(node: ast.AST) -> bool:
    """A dict or set display hashes its keys (and `{**x}` calls `keys`)."""
    if isinstance(node, ast.Dict):
        return not all(isinstance(key, ast.Constant) for key in node.keys)
    if isinstance(node, ast.Set):
        return not all(isinstance(item, ast.Constant) for item in node.elts)
    return False
