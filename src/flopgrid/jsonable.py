"""Plain JSON data from what flopgrid computes: one cleaner for the run store, the CLI and the web API.

JSON has no NaN, no infinities, no numpy types and no dates; :func:`jsonable` turns a nested structure
into one that :func:`json.dumps` writes with ``allow_nan=False``.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np


def jsonable(value: Any, *, keep_nonfinite: bool = False) -> Any:
    """The data with every value JSON can hold as itself.

    - NaN and infinities → ``None`` (unless ``keep_nonfinite``); ``pandas.NA`` and ``NaT`` → ``None``;
    - numpy scalars → Python ``bool``/``int``/``float``; numpy arrays → (nested) lists;
    - dates and times (``datetime``, ``date``, ``pandas.Timestamp``, ``numpy.datetime64``) → ISO text;
    - mappings → dicts with text keys; lists, tuples and sets → lists;
    - anything else that JSON lacks (paths, enums, …) → its ``str``.

    Parameters
    ----------
    value
        Any nesting of mappings, sequences and scalars.
    keep_nonfinite
        Keep NaN and infinities as floats, for readers that accept ``NaN`` and ``Infinity`` in JSON
        (the run store: DuckDB reads them back, so a Results' attributes round-trip exactly).

    Examples
    --------
    >>> jsonable({"a": np.float64("nan"), 2: np.arange(2), "t": dt.date(2030, 1, 1)})
    {'a': None, '2': [0, 1], 't': '2030-01-01'}
    >>> jsonable([np.bool_(True), np.int64(3), float("inf")])
    [True, 3, None]
    >>> jsonable({"budget": float("inf")}, keep_nonfinite=True)
    {'budget': inf}
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if keep_nonfinite or math.isfinite(number) else None
    if isinstance(value, Mapping):
        return {str(key): jsonable(item, keep_nonfinite=keep_nonfinite) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item, keep_nonfinite=keep_nonfinite) for item in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), keep_nonfinite=keep_nonfinite)
    # A pandas value can exist only once pandas is loaded: this module does not load it, so that the
    # command line (which prints through it) starts without pandas (a start-up measure).
    pd: Any = sys.modules.get("pandas")
    if isinstance(value, np.datetime64):
        import pandas as pd

        value = pd.Timestamp(value)
    # NaT is a datetime too: test for missing values before formatting dates.
    if pd is not None and (value is pd.NaT or value is pd.NA):
        return None
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, np.generic):
        return jsonable(value.item(), keep_nonfinite=keep_nonfinite)
    return str(value)
