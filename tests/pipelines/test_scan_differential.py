"""The scanner against the real loaders on generated and mutated files (see differential.py).

12 batches of 150 files, each file loaded by pickle.load, joblib.load and numpy.load: 1,800
files and 5,400 loads per run. bench/scan_differential.py runs the same for longer.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from differential import disagreements, mutated
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

BATCH = 150


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    phases=[Phase.generate],  # a failure lists every disagreeing file; shrinking costs minutes
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files=st.lists(mutated(), min_size=BATCH, max_size=BATCH))
def test_scanner_reports_every_global_the_loaders_resolve(files: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        assert disagreements(Path(folder), files) == []
