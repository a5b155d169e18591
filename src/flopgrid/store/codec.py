"""Results ⇄ the store's long tables: encoding a Dataset into rows (on any process, no database
needed) and decoding the rows of one run back into the Dataset that was recorded."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

import flopgrid.results  # noqa: F401  (registers the ``.flopgrid`` accessor that gives the totals)
from flopgrid.jsonable import jsonable
from flopgrid.store.schema import DIM_COLUMNS, INT_DIMS


@dataclass(frozen=True)
class Encoded:
    """Results turned into the store's tables (no database involved: workers can do it)."""

    values: pd.DataFrame  # the results rows without run_id
    variables: list[tuple[int, str, list[str], str, str, str, str]]
    coords: list[tuple[str, int, str, str]]
    attrs: dict[str, Any]
    summary: dict[str, dict[str, Any]]
    #: Coordinates that are not dimensions (e.g. a unit per constraint): name → dims, kind, values.
    extra_coords: dict[str, dict[str, Any]] = field(default_factory=dict)


def dumps(value: Any) -> str:
    """JSON text for a JSON column of the store (numpy as Python; NaN and infinities kept, as DuckDB
    reads them back)."""
    return json.dumps(jsonable(value, keep_nonfinite=True))


def coord_kind(values: np.ndarray) -> str:
    """How a coordinate is stored: "int", "float" or "str", from its dtype."""
    if values.dtype.kind in "iu":
        return "int"
    if values.dtype.kind == "f":
        return "float"
    return "str"


def encode(results: xr.Dataset) -> Encoded:
    """Results → long rows (one per value) and the metadata to rebuild the Dataset.

    Vectorised per variable: the index of every value along each dimension comes from
    ``numpy.indices``, and labels are looked up by that index.
    """
    coords: list[tuple[str, int, str, str]] = []
    labels: dict[str, np.ndarray] = {}
    for dim in results.dims:
        name = str(dim)
        axis = np.asarray(results[name].values) if name in results.coords else np.arange(results.sizes[name])
        kind = coord_kind(axis)
        if kind == "str":
            # Labels may be numpy's variable-width StringDType, which does not cast to fixed width.
            axis = np.array([str(v) for v in axis.tolist()], dtype=object)
        labels[name] = axis
        coords.extend((name, i, str(v.item() if hasattr(v, "item") else v), kind) for i, v in enumerate(axis))
    variables: list[tuple[int, str, list[str], str, str, str, str]] = []
    # Columns are gathered as integer codes per variable and joined once: building a frame per
    # variable costs more than the simulation of a small scenario.
    sizes: list[int] = []
    codes: dict[str, list[np.ndarray]] = {d: [] for d in DIM_COLUMNS}
    at: np.ndarray
    others: list[np.ndarray] = []
    values: list[np.ndarray] = []
    # Plain Variables, not DataArrays: building a DataArray per variable costs more than encoding it.
    for position, key in enumerate(results.data_vars):
        var = results.variables[key]
        name = str(key)
        dims = [str(d) for d in var.dims]
        units = str(var.attrs.get("units", ""))
        long_name = str(var.attrs.get("long_name", ""))
        variables.append((position, name, dims, units, long_name, str(var.dtype), dumps(dict(var.attrs))))
        n = int(var.size)
        sizes.append(n)
        index = np.indices(var.shape).reshape(len(dims), n)
        for d in DIM_COLUMNS:
            codes[d].append(index[dims.index(d)] if d in dims else np.full(n, -1, dtype=np.int64))
        extra = [(d, index[k]) for k, d in enumerate(dims) if d not in DIM_COLUMNS]
        if extra:
            text = np.full(n, "", dtype=object)
            for k, (d, at) in enumerate(extra):
                text = text + ("" if k == 0 else ";") + f"{d}=" + labels[d].astype(str).astype(object)[at]
            others.append(text)
        else:
            others.append(np.full(n, None, dtype=object))
        values.append(np.asarray(var.values, dtype=np.float64).reshape(n))
    names = [v[1] for v in variables]
    unit_names = [v[3] for v in variables]
    which = np.repeat(np.arange(len(names)), sizes)
    columns: dict[str, Any] = {
        "variable": pd.Categorical.from_codes(which, categories=pd.Index(names)),
        "unit": pd.Categorical.from_codes(
            pd.Index(unit_names).unique().get_indexer(pd.Index(np.asarray(unit_names, dtype=object)[which])),
            categories=pd.Index(unit_names).unique(),
        ),
    }
    for d in DIM_COLUMNS:
        at = np.concatenate(codes[d]) if codes[d] else np.zeros(0, dtype=np.int64)
        missing = at < 0
        if d not in labels:
            columns[d] = pd.array([None] * len(at), dtype="Int64" if d in INT_DIMS else object)
        elif d in INT_DIMS and labels[d].dtype.kind in "iuf":
            column = labels[d].astype(np.int64)[np.where(missing, 0, at)]
            columns[d] = pd.arrays.IntegerArray(column, missing)
        else:
            columns[d] = pd.Categorical.from_codes(at, categories=pd.Index(labels[d].astype(str)))
    columns["other"] = np.concatenate(others) if others else np.zeros(0, dtype=object)
    columns["value"] = np.concatenate(values) if values else np.zeros(0)
    frame = pd.DataFrame(columns)
    extra_coords = {
        str(name): {
            "dims": [str(d) for d in coord.dims],
            "kind": coord_kind(np.asarray(coord.values)),
            "values": [
                v if isinstance(v, int | float) else str(v) for v in np.asarray(coord.values).tolist()
            ],
            "attrs": jsonable(dict(coord.attrs), keep_nonfinite=True),
        }
        for name, coord in results.coords.items()
        if name not in results.dims
    }
    return Encoded(
        frame,
        variables,
        coords,
        jsonable(dict(results.attrs), keep_nonfinite=True),
        jsonable(results.flopgrid.totals(), keep_nonfinite=True),
        extra_coords,
    )


def decode(
    run: dict[str, Any],
    coord_rows: Sequence[tuple[str, str, str]],
    var_rows: Sequence[tuple[str, list[str], str, str]],
    frame: pd.DataFrame,
) -> xr.Dataset:
    """One run's rows → the Dataset that was recorded.

    Parameters
    ----------
    run
        The run's row of ``runs`` with its JSON columns parsed (``attrs``, ``extra_coords``).
    coord_rows
        ``(dim, label, kind)`` of its ``coords`` rows, by dimension and position.
    var_rows
        ``(variable, dims, dtype, attrs)`` of its ``variables`` rows, by position.
    frame
        Its ``results`` rows: variable, the dimension columns, other and value.
    """
    labels: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for dim, label, kind in coord_rows:
        labels.setdefault(dim, []).append(label)
        kinds[dim] = kind
    coords: dict[str, np.ndarray] = {}
    for dim, names in labels.items():
        cast = {"int": np.int64, "float": np.float64}.get(kinds[dim])
        coords[dim] = np.array(names, dtype=cast) if cast else np.array(names, dtype=object)
    groups = dict(tuple(frame.groupby("variable", sort=False))) if len(frame) else {}
    data: dict[str, xr.Variable] = {}
    for name, dims, dtype, attrs_json in var_rows:
        shape = tuple(len(coords[d]) for d in dims)
        values = np.full(shape, np.nan, dtype=np.float64)
        part = groups.get(name)
        if part is not None and len(part):
            position = []
            other = (
                part["other"].astype(str).str.split(";") if any(d not in DIM_COLUMNS for d in dims) else None
            )
            for d in dims:
                if d in DIM_COLUMNS:
                    column = part[d].to_numpy()
                    index = pd.Index(coords[d].astype(column.dtype if d in INT_DIMS else object))
                    at = index.get_indexer(column if d in INT_DIMS else column.astype(object))
                else:
                    assert other is not None
                    picked = other.map(
                        lambda items, d=d: next(i.split("=", 1)[1] for i in items if i.startswith(f"{d}="))
                    )
                    at = pd.Index(coords[d].astype(str)).get_indexer(picked.to_numpy())
                position.append(at)
            values[tuple(position)] = part["value"].to_numpy()
        data[name] = xr.Variable(dims, values.astype(np.dtype(dtype)), attrs=json.loads(attrs_json))
    ds = xr.Dataset(data, coords={d: v if kinds[d] != "str" else v.astype(str) for d, v in coords.items()})
    for name, extra in (run["extra_coords"] or {}).items():
        kind_of: Any = {"int": np.int64, "float": np.float64}.get(extra["kind"], str)
        ds = ds.assign_coords(
            {name: xr.Variable(extra["dims"], np.array(extra["values"], dtype=kind_of), attrs=extra["attrs"])}
        )
    ds.attrs.update(run["attrs"] or {})
    return ds
