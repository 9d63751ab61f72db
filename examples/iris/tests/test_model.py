"""The iris model: trained, saved where the package expects it, answering like its smoke cases."""

from __future__ import annotations

import json
from pathlib import Path

import train
from iris_model import serve


def test_training_saves_an_accurate_model(tmp_path: Path) -> None:
    accuracy = train.train(tmp_path)
    assert (tmp_path / "model.joblib").is_file()
    assert accuracy >= 0.9


def test_the_served_model_tells_the_three_species_apart() -> None:
    assert train.main([]) == 0
    project = Path(train.__file__).resolve().parent
    metrics = json.loads((project / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["accuracy"] >= 0.9
    predict = serve.load()
    rows = [[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.5, 1.5], [6.7, 3.0, 5.2, 2.3]]
    assert predict(rows) == [0, 1, 2]
