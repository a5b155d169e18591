"""The one JSON cleaner shared by the run store, the CLI and the web API."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from flopgrid.jsonable import jsonable


def test_json_has_no_nan_numpy_or_dates() -> None:
    data = {
        "nan": np.float32("nan"),
        "inf": -np.inf,
        "n": np.int64(7),
        "flag": np.bool_(False),
        "array": np.array([[1.5, np.nan]]),
        "when": pd.Timestamp("2030-01-02 03:04:05"),
        "day": dt.date(2030, 1, 2),
        "stamp": np.datetime64("2030-01-02"),
        "missing": pd.NaT,
        (1, 2): Path("a/b"),
    }
    text = json.dumps(jsonable(data), allow_nan=False)
    assert json.loads(text) == {
        "nan": None,
        "inf": None,
        "n": 7,
        "flag": False,
        "array": [[1.5, None]],
        "when": "2030-01-02T03:04:05",
        "day": "2030-01-02",
        "stamp": "2030-01-02T00:00:00",
        "missing": None,
        "(1, 2)": "a/b",
    }


def test_the_store_keeps_non_finite_numbers() -> None:
    kept = jsonable({"budget": np.float64("inf"), "irr": [np.nan]}, keep_nonfinite=True)
    assert kept["budget"] == float("inf") and np.isnan(kept["irr"][0])
    assert isinstance(kept["budget"], float) and type(kept["irr"][0]) is float
