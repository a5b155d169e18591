"""The model against the published record: ours, theirs, error, tolerance, pass or fail.

Published figures (IEA and LBNL data-centre electricity, Epoch AI's worked arithmetic, and the Epoch
2030 case when ``flopgrid.epoch2030`` is installed) are compared with what the model and the data
library give, with Monte Carlo ranges. The model represents AI accelerators only, so for sector-wide
electricity a **non-AI load** is added, clearly labelled: every region's data-centre capacity in the
library less its AI capacity, drawing its average share of rating, growing on Epoch's non-AI trend.

A figure that any library input was derived from is a **calibration** figure: it is shown, with the
inputs derived from it, but never counted as validation. Which library rows derive from which figure
is read from the library itself (their ``source`` and ``note`` columns), so a new derivation is caught
without editing this module.

Two more cases: the backtest (:mod:`flopgrid.validation.backtest`, the model from 2023 on supply-chain
inputs against 2023–2025) and the campus cost check (:mod:`flopgrid.validation.campuses`, each atlas
campus's announced capex against the model's capex of it).

>>> table = validation_table(samples=50, include_epoch=False)
>>> sorted({row.role for row in table.rows})
['calibration', 'validation']
"""

from flopgrid.validation.backtest import BACKTEST_YEARS, backtest_scenario, backtest_table
from flopgrid.validation.campuses import CAMPUS_TOLERANCE, campus_rows, campus_scenario
from flopgrid.validation.figures import (
    NON_AI_DRAW,
    NON_AI_GROWTH,
    POINT_TOLERANCE,
    Assumption,
    Figure,
    Row,
    ValidationTable,
    calibrated_on,
    compare,
    electricity_figures,
)
from flopgrid.validation.runner import (
    NonAiLoad,
    as_json,
    epoch2030_rows,
    epoch_arithmetic_rows,
    record_rows,
    reference_results,
    reference_scenario,
    run_pue,
    validation_table,
)

__all__ = [
    "BACKTEST_YEARS",
    "CAMPUS_TOLERANCE",
    "NON_AI_DRAW",
    "NON_AI_GROWTH",
    "POINT_TOLERANCE",
    "Assumption",
    "Figure",
    "NonAiLoad",
    "Row",
    "ValidationTable",
    "as_json",
    "backtest_scenario",
    "backtest_table",
    "calibrated_on",
    "campus_rows",
    "campus_scenario",
    "compare",
    "electricity_figures",
    "epoch2030_rows",
    "epoch_arithmetic_rows",
    "record_rows",
    "reference_results",
    "reference_scenario",
    "run_pue",
    "validation_table",
]
