"""The atlas pipeline drives the existing industry's near term (docs/model.md §11.1–11.2).

For the years after the library's last data year, up to the last year a named project enters service
(2030 at most), the most new grid power a region's AI data centres get in a year is the atlas campuses'
additions (facility power, completion-weighted and delayed by status) divided by the region's
``pipeline_coverage`` (the share of its growth that named campuses represent); the leading-edge wafer
and CoWoS capacity grow by their named sites' additions ÷ their coverage. After that window the
library's trends apply again, from the level the pipeline reached. The arithmetic is
:mod:`flopgrid.model.pipeline`; this module gathers the atlas rows and the parameters.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

from flopgrid.layout import Axes, history_years
from flopgrid.library import Library
from flopgrid.library.atlas import Asset, load_atlas
from flopgrid.model import pipeline
from flopgrid.parameters import ParameterSet
from flopgrid.scenario import Scenario

#: The last year the pipeline may drive (issue 14: the atlas drives 2025–2030).
LAST_PIPELINE_YEAR = 2030
#: Statuses whose projects may not be finished or may be late: their completion and delay parameters.
UNCERTAIN = ("announced", "under_construction")
#: The library's existing wafer and CoWoS series are TSMC's (library fabs and packaging sources): the
#: named sites that extend them are TSMC's.
SUPPLY_OPERATOR = {"fab": "TSMC", "packaging": "TSMC"}
#: The library table and series each supply kind's pipeline extends.
SUPPLY_SERIES = {"fab": ("fabs", "existing_capacity"), "packaging": ("packaging", "existing_capacity")}
#: Separate hash streams for a campus's completion and its delay draws.
_STREAMS = {"completion": 0, "delay": 1}


@dataclass(frozen=True)
class Projects:
    """The atlas projects (campuses or supply sites) the pipeline counts, as arrays over ``asset``."""

    ids: list[str]
    status: np.ndarray  # (asset,) str
    region: np.ndarray  # (asset,) index into the run's regions
    capacity: np.ndarray  # (asset,) W as reported
    it_basis: np.ndarray  # (asset,) bool: the reported power is IT power (facility = IT × PUE)
    online: np.ndarray  # (asset,) first year in service
    full: np.ndarray  # (asset,) year at full capacity
    dated: np.ndarray  # (asset,) bool: the atlas gives the first year in service

    def keys(self, stream: str) -> np.ndarray:
        """A stable 32-bit hash of each campus's id (its draws stay its own when rows are added)."""
        return np.array([zlib.crc32(f"{i}:{_STREAMS[stream]}".encode()) for i in self.ids], dtype=np.uint64)


def projects(regions: list[str], kind: str = "campus", operator: str | None = None) -> Projects:
    """The atlas projects of ``kind`` with a size and a year, in ``regions`` (and of ``operator`` when
    given), cancelled ones left out.

    A project with only its year at full capacity counts from that year; one with neither year, or no
    size, is left out (it cannot be placed in time).
    """
    chosen: list[Asset] = [
        a
        for a in load_atlas().select(kind=kind)
        if a.status != "cancelled"
        and a.region in regions
        and (operator is None or a.operator == operator)
        and np.isfinite(a.capacity_model)
        and (a.online_year is not None or a.full_year is not None)
    ]
    online = np.array([a.online_year if a.online_year is not None else a.full_year for a in chosen], float)
    full = np.array([a.full_year if a.full_year is not None else np.nan for a in chosen], dtype=float)
    return Projects(
        ids=[a.id for a in chosen],
        status=np.array([a.status for a in chosen], dtype=object),
        region=np.array([regions.index(a.region) for a in chosen], dtype=int),
        capacity=np.array([a.capacity_model for a in chosen], dtype=float),
        it_basis=np.array([a.basis == "it" for a in chosen], dtype=bool),
        online=online,
        full=np.where(np.isnan(full), online, full),
        dated=np.array([a.online_year is not None for a in chosen], dtype=bool),
    )


def window(
    c: Projects, years: np.ndarray, n_regions: int, last_data_year: int, delay: np.ndarray
) -> np.ndarray:
    """Years the pipeline drives each region, ``(year, region)`` bool: after the last data year, up to
    the last year a campus of the region is expected to enter service (its stated year plus its
    status's central ``delay``, rounded up; 2030 at most). After it the atlas names no new campus
    there, so its additions would fall because announcements stop, not because building does."""
    end = np.full(n_regions, -np.inf)
    if c.ids:
        expected = np.ceil(c.online + delay - 1e-9)
        np.maximum.at(end, c.region[c.dated], expected[c.dated])
    end = np.minimum(end, LAST_PIPELINE_YEAR)
    y = np.asarray(years, dtype=float)[:, None]
    out: np.ndarray = (y > last_data_year) & (y <= end[None, :])
    return out


def central_delay(params: ParameterSet, c: Projects) -> np.ndarray:
    """Each project's central delay (years): its status's library value, 0 for operating ones."""
    out = np.zeros(len(c.ids))
    for status in UNCERTAIN:
        out[c.status == status] = params.base("datacentres", f"delay_{status}")[0][0, 0, 0]
    return out


def draws(params: ParameterSet, c: Projects) -> tuple[np.ndarray, np.ndarray]:
    """Completion (probability or 0/1) and delay (years) per campus, each ``(sample|1, asset)``.

    The central run (one sample at the medians) counts each campus at its status's completion
    probability and central delay. A Monte Carlo sample draws each campus built or not (Bernoulli with
    the sample's probability for its status) and its delay from a triangle over the status's range, so
    the pipeline is as lumpy as its campuses are.
    """
    p = params.get
    central = params.design is None or params.design.central
    n_s = 1 if central else params.samples
    completion = np.ones((n_s, len(c.ids)))
    delay = np.zeros((n_s, len(c.ids)))
    samples = params.start + np.arange(n_s)
    seed = 0 if params.design is None else params.design.seed
    u_done = pipeline.hashed_uniforms(seed, samples, c.keys("completion"))
    u_late = pipeline.hashed_uniforms(seed, samples, c.keys("delay"))
    for status in UNCERTAIN:
        mine = c.status == status
        chance = p("datacentres", f"completion_{status}")[:, 0, 0, 0][:, None]  # (S|1, 1)
        value, low, high = (a[0, 0, 0] for a in params.base("datacentres", f"delay_{status}"))
        if central:
            completion = np.where(mine, chance, completion)
            delay = np.where(mine, value, delay)
        else:
            completion = np.where(mine, (u_done < chance).astype(float), completion)
            delay = np.where(mine, pipeline.triangular(u_late, low, value, high), delay)
    return completion, delay


def campus_limit(scenario: Scenario, params: ParameterSet, axes: Axes) -> np.ndarray | None:
    """The most new grid power (facility W) the existing industry's data centres get per year and
    region from the atlas pipeline, ``(sample|1, year, region)``, NaN outside the pipeline's window;
    None when the pipeline is off (``pipeline: false`` or no existing industry). After the slate year
    (the year after the last data year, which the coverage is calibrated on) it is at least the
    library's ``max_new_power`` (:func:`flopgrid.model.pipeline.lagged`)."""
    if not (scenario.existing_industry and scenario.pipeline):
        return None
    c = projects(axes.regions)
    n_r = len(axes.regions)
    _, last = history_years(params.library)
    inside = window(c, axes.years, n_r, last, central_delay(params, c))
    if not c.ids or not inside.any():
        return None
    completion, delay = draws(params, c)
    # Facility power: a campus reported as IT power draws it × PUE of its region in its first year.
    pue = params.get("datacentres", "pue")[..., 0]  # (S|1, Y, R|1)
    first = np.clip(np.searchsorted(axes.years, c.online), 0, len(axes.years) - 1)
    pue_at = pue[:, first, np.minimum(c.region, pue.shape[2] - 1)]  # (S|1, asset)
    facility = c.capacity * np.where(c.it_basis, pue_at, 1.0)
    added = pipeline.additions(facility, c.online, c.full, c.region, n_r, axes.years, completion, delay)
    coverage = params.get("regions", "pipeline_coverage")[:, :, :, 0]  # (S|1, Y|1, R)
    limit = pipeline.window_limit(added, coverage, inside[None])
    # Beyond the slate the coverage is measured on, a thinner named pipeline is not a slowdown.
    return pipeline.lagged(limit, params.get("regions", "max_new_power")[..., 0], axes.years, last + 1)


def calibrated_coverage(library: Library, region: str) -> float:
    """The share of the data-centre power slated to enter service in a region in the pipeline's first
    year that the atlas's campuses name (the calibration of ``pipeline_coverage``).

    Named campuses of every status but cancelled, facility power as stated, in service at the end of
    the year after the history's last data year less at the end of that data year (no completion
    chance, no delay: a slate is what is planned, not what is expected), over the library's
    ``regions.slated_dc_power`` of that year. A slate, not history: the atlas is compiled from
    today's announcements, which name the new large campuses far more fully than the many small
    halls that made up past growth, so a share measured on past growth (0.107 for the US on
    2023–2025) would read named projects as a tenth of the future and overstate it threefold.
    """
    _, last = library.history_years()
    pair = np.array([last, last + 1], dtype=float)
    c = projects([region])
    pue = library.series("datacentres", "pue", ["ai_campus"], pair)[0][0, 1]
    facility = c.capacity * np.where(c.it_basis, pue, 1.0)
    named = pipeline.in_service(facility, c.online, c.full, pair).sum(axis=0)
    slated = library.series("regions", "slated_dc_power", [region], pair)[0][0, 1]
    return float((named[1] - named[0]) / slated)


def supply_additions(kind: str, scenario: Scenario, params: ParameterSet, axes: Axes) -> np.ndarray | None:
    """What the existing industry's ``kind`` (``fab`` or ``packaging``) capacity gains each year from
    its named sites, ÷ the kind's ``pipeline_coverage``, ``(sample|1, year)`` in the library series'
    unit (wafer/year), NaN outside the window; None when the pipeline is off or has no such window.

    The window runs from the year after the series' last data year to the last year a named site is
    expected to enter service (2030 at most). Sites carry the same status-based completion and delay
    as campuses (no source gives fab or packaging completion rates; an assumption).
    """
    if not (scenario.existing_industry and scenario.pipeline):
        return None
    table, series = SUPPLY_SERIES[kind]
    regions = list(dict.fromkeys(params.library.ids("regions")))
    # The library's series is one world (TSMC) total: every site in one group.
    c = projects(regions, kind, SUPPLY_OPERATOR[kind])
    c = replace(c, region=np.zeros(len(c.ids), dtype=int))
    last = int(params.library.base_year(table, series))
    inside = window(c, axes.years, 1, last, central_delay(params, c))[:, 0]
    if not c.ids or not inside.any():
        return None
    completion, delay = draws(params, c)
    years = axes.years
    added = pipeline.additions(c.capacity, c.online, c.full, c.region, 1, years, completion, delay)[..., 0]
    coverage = params.get(table, "pipeline_coverage")[:, :, 0, 0]
    return pipeline.window_limit(added, coverage, inside[None])
