"""Hypothesis strategies: small random scenarios for the oracle and property tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

REGIONS = ["US", "UAE", "JP", "TW", "KR", "EU", "CN", "IN", "ROW"]
ACCELERATORS = [
    "H100",
    "H200",
    "B200",
    "GB200",
    "GB300",
    "MI300X",
    "MI355X",
    "TPUv5p",
    "TPUv6e",
    "TPUv7",
    "Trainium2",
    "Rubin",
]
SOURCES = ["grid", "gas_ccgt", "gas_onsite", "solar_storage", "wind", "nuclear_restart", "nuclear_new", "smr"]
START = 2025


def _shares(draw: Any, names: list[str]) -> dict[str, float]:
    """Shares over ``names`` summing to 1 (exactly enough for the scenario check)."""
    weights = [draw(st.integers(1, 10)) for _ in names]
    total = sum(weights)
    return {n: w / total for n, w in zip(names, weights, strict=True)}


def _g(x: float) -> str:
    return f"{x:.6g}"


@st.composite
def scenarios(
    draw: Any,
    existing: bool | None = None,
    allow_power: bool = True,
    max_years: int = 8,
    overrides: bool = True,
    supply_chain: bool = False,
) -> dict[str, Any]:
    """A random small scenario mapping."""
    n_years = draw(st.integers(2, max_years))
    end = START + n_years - 1
    existing_industry = draw(st.booleans()) if existing is None else existing
    regions = draw(st.lists(st.sampled_from(REGIONS), min_size=2, max_size=4, unique=True))
    region = st.sampled_from(regions)
    year = st.integers(START, end)
    count = st.integers(1, 3)

    def some(strategy: Any, at_least: int = 0) -> list[Any]:
        return draw(st.lists(strategy, min_size=at_least, max_size=3))

    need = 1 if supply_chain else 0

    fabs = some(
        st.fixed_dictionaries(
            {
                "region": region,
                "count": count,
                "start": year,
                "capacity": st.integers(5, 100).map(lambda k: f"{k * 1000} wafer/month"),
                "ai_share": st.sampled_from([0.0, 0.3, 0.8, 1.0]),
            },
            optional={"capex": st.integers(1, 30).map(lambda k: f"${k}B")},
        ),
        need,
    )
    packaging = some(
        st.fixed_dictionaries(
            {
                "region": region,
                "count": count,
                "start": year,
                "capacity": st.integers(2, 50).map(lambda k: f"{k * 1000} wafer/month"),
            }
        ),
        need,
    )
    hbm = some(
        st.fixed_dictionaries(
            {
                "region": region,
                "count": count,
                "start": year,
                "capacity": st.floats(1e7, 1e9).map(lambda x: f"{_g(x)} GB/year"),
            }
        ),
        need,
    )
    chip = st.sampled_from(ACCELERATORS)
    datacentres = some(
        st.fixed_dictionaries(
            {
                "region": region,
                "count": count,
                "start": year,
                "it_power": st.integers(50, 5000).map(lambda k: f"{k} MW"),
            },
            optional={"accelerator": chip, "capex": st.integers(1, 100).map(lambda k: f"${k}B")},
        )
    )
    power = (
        some(
            st.fixed_dictionaries(
                {
                    "region": region,
                    "count": count,
                    "start": year,
                    "source": st.sampled_from(SOURCES),
                    "capacity": st.integers(50, 3000).map(lambda k: f"{k} MW"),
                }
            )
        )
        if allow_power
        else []
    )
    purchases = (
        []
        if existing_industry
        else some(
            st.fixed_dictionaries(
                {
                    "region": region,
                    "accelerator": chip,
                    "year": year,
                    "quantity": st.integers(1_000, 1_000_000),
                }
            )
        )
    )

    chips: dict[str, Any] = {}
    mix_names = draw(st.lists(chip, min_size=1, max_size=3, unique=True))
    mix_kind = draw(st.sampled_from(["constant", "by_year", "default"]))
    if mix_kind == "constant":
        chips["mix"] = _shares(draw, mix_names)
    elif mix_kind == "by_year":
        first = draw(year)
        chips["mix"] = {
            first: _shares(draw, mix_names),
            draw(year): _shares(draw, draw(st.lists(chip, min_size=1, max_size=2, unique=True))),
        }
    if draw(st.booleans()):
        chips["allocation"] = _shares(draw, draw(st.lists(region, min_size=1, max_size=3, unique=True)))

    exclude = []
    if draw(st.booleans()):
        exclude = draw(
            st.lists(
                st.fixed_dictionaries({"region": region, "accelerator": st.one_of(st.just("*"), chip)}),
                min_size=1,
                max_size=2,
            )
        )

    parameters: dict[str, Any] = {}
    if overrides and draw(st.booleans()):
        dc: dict[str, Any] = {}
        if draw(st.booleans()):
            dc["lead_time"] = draw(st.sampled_from(["0 year", "0.5 year", "1 year", "2.5 year"]))
        if draw(st.booleans()):
            dc["accelerator_lifetime"] = draw(st.sampled_from(["1 year", "2 year", "2.5 year", "3 year"]))
        if draw(st.booleans()):
            dc["pue"] = {draw(region): draw(st.sampled_from([1.1, 1.4, 1.8]))}
        if dc:
            parameters["datacentres"] = dc
        if draw(st.booleans()):
            parameters["fabs"] = {"lead_time": draw(st.sampled_from(["0 year", "1.5 year", "2 year"]))}
        if draw(st.booleans()):
            parameters["regions"] = {
                draw(region): {
                    "max_new_power": draw(
                        st.sampled_from(["0 GW/year", "0.05 GW/year", "0.5 GW/year", "3 GW/year"])
                    )
                }
            }
        if draw(st.booleans()):
            parameters["power_sources"] = {"grid": {"capex": {draw(region): "800 USD/kW"}}}

    builds = {
        "fabs": fabs,
        "packaging": packaging,
        "hbm": hbm,
        "datacentres": datacentres,
        "power": power,
        "purchases": purchases,
    }
    return {
        "name": "random",
        "horizon": {"start": START, "end": end},
        "existing_industry": existing_industry,
        "chips": chips,
        "builds": builds,
        "policy": {"exclude": exclude},
        "parameters": parameters,
    }
