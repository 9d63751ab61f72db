"""What a pickle may import: built-in safe names, opt-in packs and the project's own entries.

An entry is `module:name` or `module.name` (split at the last dot). The module may end in `.**`
(that module and every module under it) and the name may hold `*`, `?` and `[...]` wildcards.
A wildcard never matches a dotted name (since protocol 4, `a.b` would walk attributes and reach
whatever `a` imported), a dunder name, or a module with a `tests`/`testing` component; those need
an exact entry. Names in `NEVER` (code execution, imports, attribute access, the shell) are
refused whatever any entry says.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from mlgate.errors import ConfigError
from mlgate.pipelines.scan.torch_calls import REBUILD_NAMES
from mlgate.pipelines.scan.vetting import NotImportable, resolve, why_refused


class Rule(NamedTuple):
    """One allowlist entry, parsed."""

    module: str
    subtree: bool
    name: str
    source: str

    @property
    def wildcard(self) -> bool:
        """Whether the entry matches more than one exact name."""
        return self.subtree or any(char in self.name for char in "*?[")


class Allowlist(NamedTuple):
    """Rules in force and the packs they came from."""

    rules: tuple[Rule, ...]
    packs: tuple[str, ...]


#: Modules no entry can allow: running code, importing, reaching the OS, unpickling again.
NEVER_MODULES = frozenset(
    [
        "os",
        "posix",
        "nt",
        "subprocess",
        "sys",
        "importlib",
        "runpy",
        "shutil",
        "socket",
        "pickle",
        "_pickle",
        "marshal",
        "shelve",
        "dill",
        "cloudpickle",
        "types",
        "code",
        "codeop",
        "ctypes",
        "pty",
        "webbrowser",
        "multiprocessing",
        "operator",
        "_operator",
        "inspect",
        "pydoc",
        "pkgutil",
        "asyncio",
        "threading",
        "_thread",
        "signal",
        "tempfile",
        "io",
        "_io",
    ]
)
#: Names in `builtins` that no entry can allow.
NEVER_BUILTINS = frozenset(
    [
        "eval",
        "exec",
        "compile",
        "getattr",
        "setattr",
        "delattr",
        "__import__",
        "open",
        "globals",
        "locals",
        "vars",
        "breakpoint",
        "input",
        "exit",
        "quit",
        "help",
        "memoryview",
        "classmethod",
        "staticmethod",
        "property",
        "super",
        "type",
    ]
)
_TEST_PARTS = frozenset({"tests", "test", "testing", "_testing", "conftest"})

SAFE = (
    *(
        f"builtins:{name}"
        for name in ["set", "frozenset", "bytearray", "bytes", "complex", "dict", "float", "int"]
    ),
    *(f"builtins:{name}" for name in ["list", "range", "slice", "str", "tuple", "bool", "object"]),
    "copyreg:_reconstructor",
    "copyreg:__newobj__",
    "copyreg:__newobj_ex__",
    "_codecs:encode",
    "collections:OrderedDict",
    "collections:defaultdict",
    "collections:deque",
    "collections:Counter",
    *(f"datetime:{name}" for name in ("date", "datetime", "time", "timedelta", "timezone")),
    "decimal:Decimal",
    "fractions:Fraction",
    "uuid:UUID",
)

_NUMPY_SCALARS = [
    "bool_",
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "complex64",
    "complex128",
    "clongdouble",
    "object_",
    "str_",
    "bytes_",
    "void",
    "datetime64",
    "timedelta64",
]
_NUMPY = (
    "numpy:ndarray",
    "numpy:dtype",
    "numpy:matrix",
    *(f"numpy:{name}" for name in _NUMPY_SCALARS),
    "numpy.dtypes:[A-Z]*DType",
    *(f"{module}:_reconstruct" for module in ("numpy.core.multiarray", "numpy._core.multiarray")),
    *(f"{module}:scalar" for module in ("numpy.core.multiarray", "numpy._core.multiarray")),
    *(f"{module}:_frombuffer" for module in ("numpy.core.numeric", "numpy._core.numeric")),
    "numpy.ma:MaskedArray",
    "numpy.ma.core:MaskedArray",
    "numpy.ma.core:_mareconstruct",
    "numpy.random._pickle:__randomstate_ctor",
    "numpy.random._pickle:__generator_ctor",
    "numpy.random._pickle:__bit_generator_ctor",
    "numpy.random.**:[A-Z]*",
    "numpy.random.bit_generator:__pyx_unpickle_SeedSequence",
    "joblib.numpy_pickle:NumpyArrayWrapper",
)
_SCIPY_SPARSE = ("scipy.sparse.**:*_matrix", "scipy.sparse.**:*_array")
#: Estimator subpackages of scikit-learn; utils, datasets and externals stay out.
_SKLEARN_PACKAGES = [
    "_loss",
    "calibration",
    "cluster",
    "compose",
    "covariance",
    "cross_decomposition",
    "decomposition",
    "discriminant_analysis",
    "dummy",
    "ensemble",
    "feature_extraction",
    "feature_selection",
    "gaussian_process",
    "impute",
    "isotonic",
    "kernel_approximation",
    "kernel_ridge",
    "linear_model",
    "manifold",
    "metrics",
    "mixture",
    "model_selection",
    "multiclass",
    "multioutput",
    "naive_bayes",
    "neighbors",
    "neural_network",
    "pipeline",
    "preprocessing",
    "random_projection",
    "semi_supervised",
    "svm",
    "tree",
]
_SKLEARN = (
    *(
        f"sklearn.{package}.**:{name}"
        for package in _SKLEARN_PACKAGES
        for name in ("[A-Z]*", "_[A-Z]*", "newObj", "__pyx_unpickle_*")
    ),
    "sklearn.base:[A-Z]*",
)
_TORCH_DTYPES = [
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "half",
    "float",
    "double",
    "complex32",
    "complex64",
    "complex128",
    "cfloat",
    "cdouble",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "short",
    "int",
    "long",
    "bool",
    "quint8",
    "qint8",
    "qint32",
    "quint4x2",
    "float8_e4m3fn",
    "float8_e5m2",
    "strided",
    "sparse_coo",
    "sparse_csr",
    "contiguous_format",
    "channels_last",
    "preserve_format",
]
_TORCH = (
    *(f"torch._utils:{name}" for name in REBUILD_NAMES),
    "torch:*Storage",
    "torch:Size",
    "torch:device",
    "torch:Tensor",
    *(f"torch:{name}" for name in _TORCH_DTYPES),
    "torch.storage:UntypedStorage",
    # allowed only with constant bytes, which are scanned as a torch file (see opcodes)
    "torch.storage:_load_from_bytes",
    "torch.storage:TypedStorage",
    "torch.nn.parameter:Parameter",
    "torch._tensor:_rebuild_from_type_v2",
    "torch.serialization:_get_layout",
)
_PANDAS_TOP = [
    *("DataFrame", "Series", "Categorical", "NA", "NaT", "Timestamp", "Timedelta", "Period"),
    *("Index", "RangeIndex", "MultiIndex", "DatetimeIndex", "TimedeltaIndex", "PeriodIndex"),
    *("IntervalIndex", "CategoricalIndex", "Interval", "CategoricalDtype", "DatetimeTZDtype"),
    *("PeriodDtype", "IntervalDtype", "SparseDtype", "StringDtype", "BooleanDtype"),
    *(f"{kind}{bits}Dtype" for kind in ("Int", "UInt") for bits in (8, 16, 32, 64)),
    *("Float32Dtype", "Float64Dtype"),
]
#: What pandas pickles for DataFrames, Series, indexes and their block managers (pandas 2-3);
#: readers and writers (`ExcelFile`, `HDFStore`...) stay out: building them opens files.
_PANDAS = (
    *(f"pandas:{name}" for name in _PANDAS_TOP),
    "pandas.arrays:*Array",
    "pandas.core.frame:DataFrame",
    "pandas.core.series:Series",
    "pandas.core.indexes.**:*Index",
    *(f"pandas.core.indexes.{module}" for module in ("base:_new_Index", "multi:MultiIndex")),
    "pandas.core.indexes.datetimes:_new_DatetimeIndex",
    "pandas.core.indexes.period:_new_PeriodIndex",
    "pandas.core.indexes.interval:_new_IntervalIndex",
    "pandas.core.internals.managers:BlockManager",
    "pandas.core.internals.managers:SingleBlockManager",
    "pandas.core.internals.blocks:*Block",
    "pandas.core.arrays.**:*Array",
    "pandas.core.arrays.categorical:Categorical",
    "pandas.core.arrays.**:*Dtype",
    "pandas.core.dtypes.dtypes:*Dtype",
    "pandas._libs.internals:_unpickle_block",
    "pandas._libs.internals:BlockPlacement",
    "pandas._libs.arrays:__pyx_unpickle_NDArrayBacked",
    "pandas._libs.sparse:IntIndex",
    "pandas._libs.sparse:BlockIndex",
    "pandas._libs.missing:NA",
    "pandas._libs.tslibs.offsets:[A-Z]*",
    "pandas._libs.tslibs.timestamps:_unpickle_timestamp",
    "pandas._libs.tslibs.timedeltas:_timedelta_unpickle",
    "pandas._libs.tslibs.nattype:_nat_unpickle",
    "pandas._libs.tslibs.nattype:__nat_unpickle",
    "pandas._libs.tslibs.period:Period",
    "pandas._libs.interval:Interval",
)
_XGBOOST = ("xgboost.core:Booster", "xgboost.sklearn:XGB*")
_LIGHTGBM = ("lightgbm.basic:Booster", "lightgbm.sklearn:LGBM*", "lightgbm.compat:_LGBM*")

#: Opt-in packs: name -> (entries, packs it includes).
PACKS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType(
    {
        "lightgbm": (_LIGHTGBM, ("numpy", "sklearn")),
        "numpy": (_NUMPY, ()),
        "pandas": (_PANDAS, ("numpy",)),
        "sklearn": (_SKLEARN + _SCIPY_SPARSE, ("numpy",)),
        "torch": (_TORCH, ()),
        "xgboost": (_XGBOOST, ("numpy", "sklearn")),
    }
)


def parse_rule(entry: str, source: str) -> Rule:
    """Parse `module:name`, `module.name` or `module.**:pattern`."""
    module, sep, name = entry.partition(":") if ":" in entry else entry.rpartition(".")
    subtree = module.endswith(".**")
    module = module.removesuffix(".**")
    if not sep or not module or not name or "*" in module or " " in entry:
        raise ConfigError(
            f"allow entry '{entry}' ({source}): write module.name, module:name or module.**:name"
        )
    return Rule(module, subtree, name, source)


CONFIG_SOURCE = "[tool.mlgate.scan] allow"


def build_allowlist(packs: Iterable[str], entries: Iterable[str]) -> Allowlist:
    """The built-in safe names, the packs (with the packs they include) and config entries."""
    enabled = _expand_packs(packs)
    rules = [parse_rule(entry, "built-in") for entry in SAFE]
    for pack in enabled:
        rules += [parse_rule(entry, f"pack {pack}") for entry in PACKS[pack][0]]
    for entry in entries:
        rule = parse_rule(entry, CONFIG_SOURCE)
        if not rule.wildcard and never_allowed(rule.module, rule.name):
            raise ConfigError(
                f"allow entry '{entry}' can never be allowed: it lets a pickle run code"
            )
        why = None if rule.wildcard else vet(rule.module, rule.name)
        if why:
            raise ConfigError(f"allow entry '{entry}' cannot be allowed: {why}")
        rules.append(rule)
    return Allowlist(tuple(rules), tuple(enabled))


def vouched_by_packs(klass: type) -> bool:
    """Whether the built-in names or any pack allow `klass` (their methods are vetted)."""
    rules = [parse_rule(entry, "built-in") for entry in SAFE]
    rules += [parse_rule(entry, pack) for pack, (items, _) in PACKS.items() for entry in items]
    return any(matches(rule, klass.__module__, klass.__qualname__) for rule in rules)


def vet(module: str, name: str) -> str | None:
    """Why `module.name` cannot be allowed by an entry (None: it only holds data).

    A module that cannot be imported here cannot be checked: then only a class-like name
    (`CapWords`, no dots) is accepted.
    """
    try:
        target = resolve(module, name)
    except NotImportable:
        if "." in name or not name[:1].isupper():
            return f"{module} cannot be imported here to check it, and '{name}' is not a class name"
        return None
    return why_refused(target, vouched_by_packs)


def _expand_packs(packs: Iterable[str]) -> list[str]:
    enabled: list[str] = []
    pending = list(packs)
    while pending:
        pack = pending.pop(0)
        if pack not in PACKS:
            raise ConfigError(f"unknown scan pack '{pack}'; packs: {', '.join(sorted(PACKS))}")
        if pack not in enabled:
            enabled.append(pack)
            pending += PACKS[pack][1]
    return sorted(enabled)


def never_allowed(module: str, name: str) -> bool:
    """Whether an import is refused whatever the allowlist says."""
    top = module.split(".", maxsplit=1)[0]
    if module in NEVER_MODULES or top in NEVER_MODULES:
        return True
    return (
        module in ("builtins", "__builtin__") and name.split(".", maxsplit=1)[0] in NEVER_BUILTINS
    )


def allowed_by(allowlist: Allowlist, module: str, name: str) -> str | None:
    """The source of the first rule allowing `module.name`, or None when nothing does."""
    if never_allowed(module, name):
        return None
    for rule in allowlist.rules:
        if matches(rule, module, name):
            return rule.source
    return None


def matches(rule: Rule, module: str, name: str) -> bool:
    if not rule.wildcard:
        return (rule.module, rule.name) == (module, name)
    if "." in name or (name.startswith("__") and name.endswith("__")):
        return False
    if _TEST_PARTS & set(module.split(".")):
        return False
    in_module = module == rule.module or (rule.subtree and module.startswith(rule.module + "."))
    return in_module and fnmatch.fnmatchcase(name, rule.name)
