"""What a tornado chart needs beyond the sensitivity analysis: each driver's own values at the low and
high quantiles the tornado set it to, with the unit, next to the output there.

:func:`flopgrid.uncertainty.sensitivity` evaluates the model with one driver at its P10 and then its
P90 (every other drawn parameter at its median) and reports the output; this module draws the driver
itself at the same design rows (the same copula, the same quantile functions, as
:func:`flopgrid.simulate.run_uniforms` does), so a bar can say "defect density 0.058 → 0.137 /cm²
moves H100e in 2030 from 164 M to 123 M".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flopgrid.library import load_library
from flopgrid.parameters import ParameterSet, design_for
from flopgrid.scenario import Scenario
from flopgrid.simulate import prepare

#: The quantiles of a tornado's low and high bar ends (those of ``flopgrid.uncertainty.sensitivity``).
TORNADO_QUANTILES = (0.1, 0.9)


def driver_inputs(
    scenario: Scenario, drivers: list[str], seed: int = 0, quantiles: tuple[float, float] = TORNADO_QUANTILES
) -> dict[str, dict[str, Any]]:
    """Each driver's values at the tornado's low and high quantiles, in the model's unit.

    Parameters
    ----------
    scenario
        The scenario analysed.
    drivers
        Drivers as the sensitivity analysis names them: ``"table.parameter"`` (all items and regions
        of the parameter move together) or ``"table.item.parameter"``.
    seed
        The analysis' seed (it fixes the design's copula).
    quantiles
        The low and high quantiles.

    Returns
    -------
    dict
        By driver: ``input_unit``, ``input_year`` (the first year of the horizon), ``input_low`` and
        ``input_high`` (the median over the driver's items and regions in that year: one number for
        a bar's label) and ``inputs``, a list of ``{"item", "low", "high"}`` per drawn item (the
        median over regions for a regional parameter).
    """
    loaded, params, _ = prepare(scenario, samples=1, seed=seed)
    design = design_for(loaded, params, seed, "random", 1)
    dims = design.dimensions
    specs = load_library().specs
    out: dict[str, dict[str, Any]] = {}
    for driver in drivers:
        # The analysis names a driver by its group ("table.parameter"), or by its one dimension
        # ("table.item.parameter") when no parameter spans several items.
        columns = [i for i, d in enumerate(dims) if driver in (f"{d.table}.{d.parameter}", d.name)]
        if not columns:
            continue
        rows = np.full((2, len(dims)), 0.5)
        rows[0, columns], rows[1, columns] = quantiles
        drawn = ParameterSet(
            params.library,
            params.years,
            params.regions,
            params.items,
            params.overrides,
            samples=2,
            design=design,
            uniforms=design.correlate(rows),
        )
        table, parameter = dims[columns[0]].table, dims[columns[0]].parameter
        # (2, year, region|1, item|1) → the first year, one column per item, a row per region.
        first = drawn.get(table, parameter)[:, 0]
        names = list(params.items.get(table, []))
        inputs = []
        for column in columns:
            item = dims[column].item
            # A per-item parameter's item axis follows the table's items; "all" (one quantile for
            # every region) and single-item tables have one column.
            k = names.index(item) if item in names and first.shape[-1] == len(names) else 0
            # The median over regions that have the parameter (regions.pipeline_coverage is NaN
            # where the atlas pipeline does not drive a region).
            low, high = (float(np.nanmedian(first[s, :, k])) for s in (0, 1))
            inputs.append({"item": item, "low": low, "high": high})
        out[driver] = {
            "input_unit": specs[(table, parameter)].unit,
            "input_year": int(params.years[0]),
            "input_low": float(np.median([i["low"] for i in inputs])),
            "input_high": float(np.median([i["high"] for i in inputs])),
            "inputs": inputs,
        }
    return out


def tornado_records(
    tornado: pd.DataFrame, unit: str, inputs: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The tornado rows as JSON records with the output's unit and each driver's own values.

    Each record: ``driver``; ``low`` and ``high``, the output with the driver at its low and high
    quantile (``output_low`` and ``output_high`` name them plainly); ``swing``; ``output_unit``;
    ``quantile_low`` and ``quantile_high``; and, from :func:`driver_inputs`, ``input_unit``,
    ``input_year``, ``input_low``, ``input_high`` and ``inputs`` (None when the driver is unknown).
    """
    records = []
    for row in tornado.to_dict(orient="records"):
        driver = str(row["driver"])
        given = inputs.get(driver, {})
        records.append(
            {
                **{str(k): v for k, v in row.items()},
                "output_low": row["low"],
                "output_high": row["high"],
                "output_unit": unit,
                "quantile_low": TORNADO_QUANTILES[0],
                "quantile_high": TORNADO_QUANTILES[1],
                **{
                    key: given.get(key)
                    for key in ("input_unit", "input_year", "input_low", "input_high", "inputs")
                },
            }
        )
    return records
