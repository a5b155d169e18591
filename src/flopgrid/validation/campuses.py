"""The campus cost check: each atlas campus with an announced capex against the model's capex of it.

For every campus of the atlas with a capex, the model builds that campus alone (``existing_industry:
false``): its IT power in its region from its start year, and, where the atlas gives its accelerators,
their purchase in the year after. The model's capex is then summed over the asset classes the
announcement covers (``capex_scope``):

- ``facility``: the data-centre shell and its M&E (asset ``datacentre``), chips and power excluded;
- ``all_in``: the facility plus accelerators and their network;
- ``unknown``: the scope is not stated: compared with the facility plus, where the atlas gives the
  chips, the accelerators and network (the wider reading), and said so in the row.

A campus without a reported power is sized for its chips: count × the library's IT power per chip.
These rows are validation, not calibration: no library input was set from a campus announcement
(checked by :func:`flopgrid.validation.figures.calibrated_on` against each campus's URL).
"""

from __future__ import annotations

import math
import re

import numpy as np

from flopgrid.library import Library, load_library
from flopgrid.library.atlas import Asset, load_atlas
from flopgrid.scenario import Scenario, load_scenario
from flopgrid.simulate import simulate
from flopgrid.validation.figures import Figure, Row, row

#: Relative tolerance of a campus's capex: the library's own facility cost spans $9.3M–$20M per MW
#: (−20% / +71% around $11.7M), and announcements mix phases, land, power and grid work; a factor of
#: 1.5 either way (error within ±50%) is the widest band that still tells a cheap campus from a dear one.
CAMPUS_TOLERANCE = 0.5
#: Asset classes of the model's capex that each announced scope covers.
SCOPES = {
    "facility": ("datacentre",),
    "all_in": ("datacentre", "accelerator", "network"),
    "unknown": ("datacentre", "accelerator", "network"),
}


def campus_scenario(asset: Asset, library: Library) -> Scenario:
    """The one-campus scenario of ``asset``: its IT power, region, start and chips, no quoted capex.

    >>> s = campus_scenario(load_atlas().get("stargate-abilene"), load_library())
    >>> s.builds.purchases[0].accelerator, s.builds.purchases[0].quantity
    ('GB200', 400000.0)
    """
    start = asset.start or asset.online_year
    if start is None:
        raise ValueError(f"atlas campus {asset.id} has no year")
    build: dict[str, object] = {"asset": asset.id}
    chips = asset.accelerator in library.ids("accelerators") and math.isfinite(asset.accelerator_count)
    if not math.isfinite(asset.capacity_model):
        if not chips:
            raise ValueError(f"atlas campus {asset.id} has neither a power nor its chips")
        per_chip, _, _ = library.series("accelerators", "it_power", [asset.accelerator], np.array([start]))
        build["it_power"] = f"{asset.accelerator_count * float(per_chip[0, 0])!r} W"
    build["capex"] = None
    build["start"] = start
    lead_time, _, _ = library.series("datacentres", "lead_time", ["ai_campus"], np.array([start]))
    lead = math.ceil(float(lead_time[0, 0]))
    data: dict[str, object] = {
        "name": f"campus {asset.id}",
        "horizon": {"start": start, "end": start + lead + 2},
        "existing_industry": False,
        "builds": {"datacentres": [build]},
    }
    if chips:
        data["builds"] = {
            "datacentres": [build],
            "purchases": [
                {
                    "accelerator": asset.accelerator,
                    "region": asset.region,
                    "quantity": asset.accelerator_count,
                    "year": start + lead,
                }
            ],
        }
    return load_scenario(data)


def campus_rows(samples: int = 200, seed: int = 0) -> list[Row]:
    """One row per atlas campus with an announced capex: ours (model capex of the same campus, P5–P95)
    against theirs (the announcement), with the scope compared and the tolerance."""
    library = load_library()
    rows = []
    for asset in load_atlas().select(kind="campus"):
        if not math.isfinite(asset.capex) or asset.status == "cancelled":
            continue
        scenario = campus_scenario(asset, library)
        results = simulate(scenario, samples=samples, seed=seed)
        chips = bool(scenario.builds.purchases)
        classes = SCOPES[asset.capex_scope] if chips else ("datacentre",)
        ours = results["capex"].sel(asset=list(classes)).sum(("year", "region", "asset")).values / 1e9
        figure = Figure(
            f"campus-capex-{asset.id}",
            f"{asset.name}: announced capex ({asset.capex_scope} scope)",
            int(scenario.horizon.start),
            "B USD",
            asset.capex / 1e9,
            asset.capex / 1e9,
            asset.capex / 1e9,
            asset.source,
            "point",
            re.escape(asset.url),
        )
        build = scenario.builds.datacentres[0]
        method = (
            f"model: {build.it_rating / 1e6:,.0f} MW IT in {asset.region} from {build.start}"
            + (
                f" + {asset.accelerator_count:,.0f} {asset.accelerator}"
                if chips
                else " (no chips reported: facility only)"
            )
            + f"; capex of {', '.join(classes)}"
            + ("; the announcement's scope is not stated" if asset.capex_scope == "unknown" else "")
        )
        rows.append(row(figure, np.asarray(ours, dtype=float), method, library, tolerance=CAMPUS_TOLERANCE))
    return rows
