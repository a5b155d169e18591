"""Checks of a scenario beyond its schema: names against the data library, years against the horizon,
the finance section, and pydantic's validation errors turned into messages with the file and line."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from flopgrid.errors import ScenarioError, clean_loc, format_path, shorten, suggest
from flopgrid.library import Library
from flopgrid.scenario.schema import Scenario


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the field at ``loc`` (for 'did you mean' on unknown keys)."""
    model: type[BaseModel] | None = Scenario
    for part in loc[:-1]:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return model


def validation_error(
    exc: ValidationError, file: str | None, lines: dict[tuple[Any, ...], int]
) -> ScenarioError:
    """The first of pydantic's errors as a :class:`~flopgrid.errors.ScenarioError` with the file, the
    line and the field path (an unknown key with a 'did you mean')."""
    errors = exc.errors()
    # A typo shows as an unknown key and a missing one; the unknown key is the one to name. A union
    # (constant map or by-year map) reports one error per branch; the first is the clearest.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = clean_loc(tuple(error["loc"]))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        owner = _model_at(loc)
        choices = list(owner.model_fields) if owner else []
        choices = [c for c in choices if c != "source_file"]
        # The raw location's last part is the user's key, even one that looks like a union label.
        key = str(error["loc"][-1]) if error["loc"] else ""
        message = f"unknown key {shorten(key)}.{suggest(key, choices)} Allowed here: {', '.join(choices)}"
    elif error["type"] == "missing":
        message = f"missing required field {error['loc'][-1]!r}"
    elif "input" in error and error["type"] not in ("value_error",):
        message = f"{message} (got {shorten(error['input'])})"
    line = None
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in lines:
            line = lines[loc[:cut]]
            break
    return ScenarioError(message, file=file, path=format_path(loc) or None, line=line)


def check_names(
    scenario: Scenario, library: Library, file: str | None, lines: dict[tuple[Any, ...], int]
) -> None:
    """Check the names (regions, accelerators, power sources) and years a scenario uses against the
    library and its horizon, and the finance and policy sections.

    Raises
    ------
    ScenarioError
        At the first problem, with the file, line and field path.
    """
    regions = library.ids("regions")
    accelerators = library.ids("accelerators")
    sources = library.ids("power_sources")
    years = scenario.years

    def fail(loc: tuple[Any, ...], message: str) -> None:
        line = next((lines[loc[:cut]] for cut in range(len(loc), 0, -1) if loc[:cut] in lines), None)
        raise ScenarioError(message, file=file, path=format_path(loc), line=line)

    def check(loc: tuple[Any, ...], value: str, choices: list[str], kind: str) -> None:
        if value not in choices:
            fail(
                loc, f"unknown {kind} {shorten(value)}.{suggest(value, choices)} Known: {', '.join(choices)}"
            )

    def check_year(loc: tuple[Any, ...], year: int, what: str) -> None:
        if not years[0] <= year <= years[-1]:
            fail(
                loc,
                f"{what} {year} is outside the horizon {years[0]}–{years[-1]}; "
                "change the year or horizon.start/horizon.end",
            )

    for kind in ("fabs", "packaging", "hbm", "datacentres", "power"):
        for i, build in enumerate(getattr(scenario.builds, kind)):
            loc = ("builds", kind, i)
            check((*loc, "region"), build.region, regions, "region")
            check_year((*loc, "start"), build.start, "start year")
            if kind == "power":
                check((*loc, "source"), build.source, sources, "power source")
            if kind == "datacentres" and build.accelerator is not None:
                check((*loc, "accelerator"), build.accelerator, accelerators, "accelerator")
    for i, purchase in enumerate(scenario.builds.purchases):
        loc = ("builds", "purchases", i)
        check((*loc, "accelerator"), purchase.accelerator, accelerators, "accelerator")
        check((*loc, "region"), purchase.region, regions, "region")
        check_year((*loc, "year"), purchase.year, "delivery year")
    if scenario.builds.purchases and scenario.existing_industry:
        fail(
            ("builds", "purchases"),
            "purchases are accelerators bought from outside the modelled supply chain, but with "
            "existing_industry: true the whole industry's output is already modelled and shipped; "
            "steer it with chips.allocation instead, or set existing_industry: false",
        )

    fields: tuple[tuple[Literal["mix", "allocation"], list[str], str], ...] = (
        ("mix", accelerators, "accelerator"),
        ("allocation", regions, "region"),
    )
    for field, choices, kind in fields:
        steps = scenario.chips.steps(field, years[0])
        if steps is None:
            continue
        by_year = all(isinstance(k, int) for k in getattr(scenario.chips, field))
        # With the existing industry the run steps through history before its horizon: shares may
        # be given for those years too.
        first = library.history_years()[0] if scenario.existing_industry else years[0]
        for year, mapping in steps.items():
            yloc: tuple[Any, ...] = ("chips", field, year) if by_year else ("chips", field)
            # A step after the horizon's end never applies, and is allowed: a roadmap of steps (the
            # reference's NextGen generations to 2040) serves any horizon, e.g. validation's to 2030.
            if by_year and year <= years[-1] and not first <= year < years[0]:
                check_year(yloc, year, f"{field} year")
            for name in mapping:
                check((*yloc, name), name, choices, kind)
            total = sum(mapping.values())
            if total <= 0:
                fail(yloc, f"the shares of chips.{field} add up to 0; give at least one positive share")
            if abs(total - 1) > 1e-6:
                fail(yloc, f"the shares of chips.{field} must add up to 1, they add up to {total:g}")
    if scenario.chips.refresh and scenario.existing_industry:
        fail(
            ("chips", "refresh"),
            "refresh re-buys the programme's retired accelerators, but with existing_industry: true the "
            "industry's output already replaces them; set existing_industry: false or drop refresh",
        )
    _check_finance(scenario, regions, fail, check)
    for i, exclusion in enumerate(scenario.policy.exclude):
        loc = ("policy", "exclude", i)
        check((*loc, "region"), exclusion.region, regions, "region")
        if exclusion.accelerator != "*":
            check((*loc, "accelerator"), exclusion.accelerator, accelerators, "accelerator")


def _check_finance(scenario: Scenario, regions: list[str], fail: Any, check: Any) -> None:
    """Checks of the ``finance`` section that need the horizon or more than one field."""
    years = scenario.years
    revenue, kind = scenario.finance.revenue, scenario.revenue_kind
    needs = {"tokens": ("token_price", "tokens_per_flop")}.get(kind, ())
    for name in needs:
        if getattr(revenue, name) is None:
            fail(("finance", "revenue", name), f"revenue kind 'tokens' needs {name}")
    unused = {
        "rental": ("token_price", "tokens_per_flop"),
        "tokens": ("price",),
        "market": ("price", "token_price", "tokens_per_flop", "decline"),
    }.get(kind, ())
    if kind == "none":
        unused = ("price", "token_price", "tokens_per_flop", "decline", "utilisation")
    for name in unused:
        if getattr(revenue, name) is not None:
            fail(
                ("finance", "revenue", name),
                f"{name} does not apply to revenue kind {kind!r}; remove it or change the kind",
            )
    seen: set[str] = set()
    for i, tranche in enumerate(scenario.finance.tranches):
        loc: tuple[Any, ...] = ("finance", "tranches", i)
        if tranche.name in seen:
            fail((*loc, "name"), f"two tranches are named {tranche.name!r}; give each a distinct name")
        seen.add(tranche.name)
        if tranche.region is not None:
            check((*loc, "region"), tranche.region, regions, "region")
        if (tranche.year is None) == (tranche.years is None):
            fail(
                loc,
                'give the drawdown as year: 2026 (with amount), years: {2026: "$10B", 2027: "$5B"}, '
                "or years: [2026, 2030] (with amount, spread evenly) — exactly one of year and years",
            )
        if tranche.amount is None and not isinstance(tranche.years, dict):
            fail((*loc, "amount"), 'missing the amount, e.g. amount: "$43B"')
        if isinstance(tranche.years, tuple) and tranche.years[0] > tranche.years[1]:
            fail(
                (*loc, "years"),
                f"years [{tranche.years[0]}, {tranche.years[1]}]: the first comes after the last",
            )
        if isinstance(tranche.years, dict) and tranche.amount is not None:
            total = sum(tranche.years.values())
            if abs(total - tranche.amount) > 1e-6 * tranche.amount:
                fail(
                    (*loc, "amount"),
                    f"amount {tranche.amount:.4g} USD differs from the sum of years ({total:.4g} USD); "
                    "drop amount or make them agree",
                )
        for year in tranche.draws():
            where = (*loc, "year") if tranche.year is not None else (*loc, "years")
            if year < years[0]:
                fail(
                    where,
                    f"tranche {tranche.name!r} is drawn in {year}, in the past of the horizon "
                    f"(it starts in {years[0]}); money already spent is not modelled — move it to "
                    f"{years[0]} or later",
                )
            if year > years[-1]:
                fail(
                    where,
                    f"tranche {tranche.name!r} is drawn in {year}, after the horizon ends ({years[-1]})",
                )
        if tranche.kind in ("debt", "vendor"):
            if tranche.rate is None:
                fail((*loc, "rate"), f'a {tranche.kind} tranche needs a rate, e.g. rate: "6.5%/year"')
            if tranche.tenor is None:
                fail((*loc, "tenor"), f'a {tranche.kind} tranche needs a tenor, e.g. tenor: "15 year"')
            elif tranche.tenor < 1 or tranche.tenor != round(tranche.tenor) or tranche.tenor > 100:
                fail(
                    (*loc, "tenor"),
                    f"tenor must be a whole number of years from 1 to 100, got {tranche.tenor:g} year",
                )
        else:
            for name in ("rate", "tenor"):
                if getattr(tranche, name) is not None:
                    fail(
                        (*loc, name),
                        f"{name} applies to debt and vendor tranches only; {tranche.kind} is not repaid",
                    )
