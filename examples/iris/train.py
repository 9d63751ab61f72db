"""Train the iris classifier and save it where `[tool.mlgate.package] models` expects it.

python train.py            # writes models/model.joblib and metrics.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def train(out: Path) -> float:
    """Fit a scaled logistic regression on the bundled iris data; save it; return accuracy."""
    features, labels = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.25, random_state=0, stratify=labels
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x_train, y_train)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    return float(model.score(x_test, y_test))


def main(argv: Sequence[str] | None = None) -> int:
    """Train into ./models and write ./metrics.json."""
    root = Path(__file__).resolve().parent
    accuracy = train(root / "models")
    (root / "metrics.json").write_text(json.dumps({"accuracy": round(accuracy, 4)}) + "\n")
    print(f"accuracy {accuracy:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
