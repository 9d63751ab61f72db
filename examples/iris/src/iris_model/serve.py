"""The package entrypoint: `iris_model.serve:load` returns the predict callable.

mlgate's built-in server calls `load()` once, then `predict(rows)` for every POST /predict with
`{"input": rows}`; rows are lists of four measurements (cm): sepal length and width, petal length
and width. The answer is one class index per row (0 setosa, 1 versicolor, 2 virginica).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from mlgate.models import load as load_model

Rows = Sequence[Sequence[float]]


def load() -> Callable[[Rows], list[int]]:
    """Load the trained model once; return the function that answers predictions."""
    path = Path(__file__).resolve().parents[2] / "models" / "model.joblib"
    # The file's sha256 is in the package manifest and `mlgate package build` scanned it; the
    # restricted loader scans it again and imports only what the sklearn pack allows.
    model = load_model(path, packs=["sklearn"])

    def predict(rows: Rows) -> list[int]:
        return [int(label) for label in model.predict(rows)]

    return predict
