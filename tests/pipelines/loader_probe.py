"""Run a real loader on files and record every global it resolves (a test helper, run alone).

`python loader_probe.py KIND PACKS PATH...` prints one JSON list: for each path,
`{"globals": [...], "refused": [...], "outcome": "loaded" | "refused" | "error: Type"}`.
`find_class` records every global; the ones mlgate's policy (the given packs) does not allow
are refused (an exception), so nothing outside the policy ever runs. The loaders are the real
ones: `pickle.load`, `joblib.load`, `numpy.load(allow_pickle=True)`, `pandas.read_pickle`.
"""

from __future__ import annotations

import _compat_pickle
import importlib.util
import json
import pickle
import sys
from collections.abc import Callable, Sequence
from typing import Any

from mlgate.pipelines.scan.allowlist import allowed_by, build_allowlist

_ORIGINALS: dict[str, Any] = {}


class Refused(Exception):
    """A global outside the policy: the probe refuses it, like a restricted loader would."""


class Recorder:
    """What one load resolved."""

    def __init__(self, packs: Sequence[str]) -> None:
        self.allowlist = build_allowlist(packs, [])
        self.seen: list[list[str]] = []  # [as pickled, as resolved] pairs
        self.refused: list[str] = []

    def wrap(self, original: Callable[[Any, str, str], Any]) -> Callable[[Any, str, str], Any]:
        """A `find_class` that records, refuses what the policy refuses, else resolves."""

        def find_class(unpickler: Any, module: str, name: str) -> Any:
            # the unpickler maps Python 2 names for protocols < 3 after calling us: record both
            raw = f"{module}.{name}"
            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
            if not _findable(module):
                raise Refused(f"{module}: no such module, the import would fail")
            self.seen.append([raw, f"{module}.{name}"])
            if not allowed_by(self.allowlist, module, name):
                self.refused.append(f"{module}.{name}")
                raise Refused(f"{module}.{name}")
            return original(unpickler, module, name)

        return find_class


def _findable(module: str) -> bool:
    """Whether importing `module` could find its top-level package (nothing is imported)."""
    try:
        return importlib.util.find_spec(module.split(".", maxsplit=1)[0]) is not None
    except (ImportError, ValueError):
        return False  # "" or a name the import system rejects: the import fails too


def _plain_load(recorder: Recorder) -> Callable[..., Any]:
    class Probe(pickle.Unpickler):
        find_class = recorder.wrap(pickle.Unpickler.find_class)

    def load(file: Any, **kwargs: Any) -> Any:
        return Probe(file, **kwargs).load()

    return load


def load_pickle(path: str, recorder: Recorder) -> None:
    with open(path, "rb") as file:
        _plain_load(recorder)(file)


def load_joblib(path: str, recorder: Recorder) -> None:
    import joblib
    from joblib import numpy_pickle

    original = _ORIGINALS.setdefault("joblib", numpy_pickle.NumpyUnpickler.find_class)
    numpy_pickle.NumpyUnpickler.find_class = recorder.wrap(original)
    joblib.load(path)


def load_numpy(path: str, recorder: Recorder) -> None:
    import numpy as np

    pickle.load = _plain_load(recorder)  # numpy.lib.format calls pickle.load
    loaded = np.load(path, allow_pickle=True)
    if hasattr(loaded, "files"):
        for key in loaded.files:
            loaded[key]


def load_pandas(path: str, recorder: Recorder) -> None:
    import pandas as pd
    from pandas.compat import pickle_compat

    pickle.load = _plain_load(recorder)  # pandas.io.pickle calls pickle.load first
    original = _ORIGINALS.setdefault("pandas", pickle_compat.Unpickler.find_class)
    pickle_compat.Unpickler.find_class = recorder.wrap(original)
    pd.read_pickle(path)


LOADERS = {
    "pickle": load_pickle,
    "joblib": load_joblib,
    "numpy": load_numpy,
    "pandas": load_pandas,
}


def probe(kind: str, packs: Sequence[str], path: str) -> dict[str, Any]:
    """Load `path` with the `kind` loader; what it resolved and how it ended."""
    recorder = Recorder(packs)
    try:
        LOADERS[kind](path, recorder)
        outcome = "loaded"
    except Refused:
        outcome = "refused"
    except Exception as err:  # noqa: BLE001 - any failure of the real loader is an outcome
        outcome = f"error: {type(err).__name__}"
    return {"globals": recorder.seen, "refused": recorder.refused, "outcome": outcome}


def main(argv: Sequence[str]) -> int:
    kind, packs, *paths = argv
    results = [probe(kind, [pack for pack in packs.split(",") if pack], path) for path in paths]
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
