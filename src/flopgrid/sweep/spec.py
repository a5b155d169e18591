"""Sweep specifications: a base scenario and its variants (a grid, named cases or a Latin hypercube)
read from a sweep file or from ``--vary`` options, turned into the tasks to run.

Sweep files are read with the scenarios' YAML reader, so a malformed file, a key given twice or a bad
value is named with its file, line and key. Quantities ("5 GW", "43 billion USD") are read by pint
through :mod:`flopgrid.units`.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pint
import yaml
from scipy.stats import qmc

from flopgrid.errors import FlopgridError, ScenarioError, UnitError, format_path
from flopgrid.scenario import read_yaml, shipped_scenarios
from flopgrid.store import ENGINES, code_version
from flopgrid.units import read_quantity

#: Totals shown in the end-of-sweep sensitivity table unless the sweep file names its own.
DEFAULT_OUTPUTS = ("h100e_end", "it_power_end", "energy", "emissions", "capex", "npv", "lcoc_per_h100e_hour")
#: Keys a sweep file may have; a YAML file with none of ``base``/``grid``/``cases``/``lhs`` is a scenario.
SWEEP_KEYS = {"name", "description", "base", "engine", "samples", "seeds", "grid", "cases", "lhs", "outputs"}
_PART = re.compile(r"([A-Za-z0-9_\-*]+)((?:\[\d+\])*)")


class SweepError(ScenarioError):
    """A sweep file or a ``--vary`` option is not what flopgrid expects (file, line and key named)."""


@dataclass(frozen=True)
class Task:
    """One variant: the scenario content after the overrides, and how to run it."""

    index: int
    values: dict[str, Any]  # swept key → value given (as written, or the sampled number)
    data: dict[str, Any]
    engine: str
    seed: int
    samples: int
    # The client's code version: it keys the results, so the worker must not compute its own (a
    # worker that imported the package later, after an edit, would key results the client never asks for).
    version: str = field(default_factory=code_version)


@dataclass
class Sweep:
    """A sweep's tasks, the keys it varies and the totals its sensitivity table shows."""

    name: str
    file: str
    keys: list[str]
    tasks: list[Task]
    outputs: list[str]
    numeric: dict[str, bool] = field(default_factory=dict)  # key → values are numbers (LHS)


@dataclass(frozen=True)
class _Source:
    """Where a sweep's keys were written: errors name the file and the line of the nearest key."""

    file: str
    lines: Mapping[tuple[Any, ...], int] = field(default_factory=dict)

    def line(self, loc: tuple[Any, ...]) -> int | None:
        return next((self.lines[loc[:k]] for k in range(len(loc), 0, -1) if loc[:k] in self.lines), None)

    def error(self, loc: tuple[Any, ...], message: str) -> SweepError:
        return SweepError(message, file=self.file, path=format_path(loc) or None, line=self.line(loc))


# ------------------------------------------------------------------------------------------ key paths


def _path(key: str, file: str) -> list[str | int]:
    tokens: list[str | int] = []
    for part in key.split("."):
        match = _PART.fullmatch(part)
        if match is None:
            raise SweepError(
                "not a key path; write e.g. horizon.end or builds.fabs[0].count", file=file, path=key
            )
        tokens.append(match.group(1))
        tokens.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return tokens


def set_path(data: dict[str, Any], key: str, value: Any, file: str = "<sweep>") -> None:
    """Set ``key`` (``a.b[0].c``) in nested scenario data, creating mappings on the way.

    Examples
    --------
    >>> data = {"horizon": {"start": 2025}}
    >>> set_path(data, "horizon.end", 2030)
    >>> data
    {'horizon': {'start': 2025, 'end': 2030}}
    """
    tokens = _path(key, file)
    node: Any = data
    for k, token in enumerate(tokens):
        last = k == len(tokens) - 1
        if isinstance(token, int):
            if not isinstance(node, list) or token >= len(node):
                size = len(node) if isinstance(node, list) else 0
                raise SweepError(
                    f"index [{token}] is beyond the {size} item(s) in the base scenario", file=file, path=key
                )
            if last:
                node[token] = value
            else:
                node = node[token]
            continue
        if not isinstance(node, dict):
            raise SweepError(
                f"{token!r} is inside a value that is not a mapping in the base scenario", file=file, path=key
            )
        if last:
            node[token] = value
            # A campus has one size: setting its IT rating replaces a facility power, and the other way
            node.pop(CAMPUS_SIZES.get(token, ""), None)
        else:
            node = node.setdefault(token, {})


#: The two ways to size a campus (``builds.datacentres[i]``); a sweep that sets one drops the other.
CAMPUS_SIZES = {"it_power": "facility_power", "facility_power": "it_power"}


# -------------------------------------------------------------------------------------------- reading


def base_data(source: str, relative_to: Path | None = None) -> tuple[dict[str, Any], str]:
    """A scenario's raw content (file or built-in name) and a label for messages."""
    path = Path(source)
    if not path.is_absolute() and relative_to is not None and (relative_to / path).exists():
        path = relative_to / path
    if not path.exists() and source not in shipped_scenarios():
        raise FlopgridError(
            f"{source}: no such scenario file or built-in scenario ({', '.join(shipped_scenarios())})"
        )
    data, _, label = read_yaml(
        path if path.exists() else source,
        package="flopgrid.scenarios",
        shipped=shipped_scenarios(),
        what="a scenario file",
    )
    if not isinstance(data, dict):
        raise FlopgridError(f"{label}: a scenario must be a YAML mapping")
    return data, label


def parse_vary(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["horizon.end=2030,2035"]`` → ``{"horizon.end": [2030, 2035]}`` (values read as YAML).

    Examples
    --------
    >>> parse_vary(["horizon.end=2030,2035", "builds.datacentres[0].it_power=5 GW,10 GW"])
    {'horizon.end': [2030, 2035], 'builds.datacentres[0].it_power': ['5 GW', '10 GW']}
    """
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise FlopgridError(
                f"--vary {item!r}: write key=value1,value2,… e.g. --vary horizon.end=2030,2035"
            )
        values = []
        for part in text.split(","):
            try:
                values.append(yaml.safe_load(part.strip()))
            except yaml.YAMLError:
                values.append(part.strip())
        out[key.strip()] = values
    return out


# ------------------------------------------------------------------------------------------- variants


def _bound(value: Any, source: _Source, loc: tuple[Any, ...], pair: Any) -> Any:
    try:
        return read_quantity(value)
    except UnitError:
        raise source.error(
            loc, f'give numbers with a unit, e.g. ["30000 USD", "50000 USD"], got {pair!r}'
        ) from None


def _written_unit(value: Any, quantity: Any) -> tuple[str, float]:
    """The unit as the user wrote it after the number ("43 billion USD" → "billion USD") and its size
    in ``quantity``'s unit, so sampled values read like the range; pint's own name where the text is
    not ``NUMBER UNIT`` (e.g. "$30B")."""
    if quantity.dimensionless and not isinstance(value, str):
        return "", 1.0
    number, _, unit = str(value).strip().partition(" ")
    try:
        float(number.replace(",", "").replace("_", ""))
        scale = read_quantity(f"1 {unit}").to(quantity.units).magnitude if unit.strip() else None
    except (ValueError, UnitError, pint.DimensionalityError):
        scale = None
    if scale is None or not scale > 0:
        return ("" if quantity.dimensionless else str(quantity.units)), 1.0
    return unit.strip(), float(scale)


def _lhs(spec: Any, source: _Source) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Latin hypercube variants: ``{n: 20, seed: 1, ranges: {key: [low, high]}}``."""
    if not isinstance(spec, dict) or not isinstance(spec.get("ranges"), dict) or not spec["ranges"]:
        raise source.error(
            ("lhs",), "give n and ranges, e.g. lhs: {n: 20, ranges: {horizon.end: [2030, 2040]}}"
        )
    n = spec.get("n")
    if not isinstance(n, int) or n < 1:
        raise source.error(("lhs", "n"), f"the number of points must be a whole number ≥ 1, got {n!r}")
    seed = spec.get("seed", 0)
    keys = list(spec["ranges"])
    bounds: list[tuple[float, float, str, bool]] = []
    for key in keys:
        loc = ("lhs", "ranges", key)
        pair = spec["ranges"][key]
        if not isinstance(pair, list) or len(pair) != 2:
            raise source.error(loc, f'give [low, high], e.g. ["30000 USD", "50000 USD"], got {pair!r}')
        first, second = (_bound(v, source, loc, pair) for v in pair)
        try:
            high_q = second.to(first.units)
        except pint.DimensionalityError:
            raise source.error(loc, f"low and high must have the same unit, got {pair!r}") from None
        unit, scale = _written_unit(pair[0], first)
        low, high = float(first.magnitude) / scale, float(high_q.magnitude) / scale
        if not low < high:
            raise source.error(loc, f"low must be below high, got {pair!r}")
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
        bounds.append((low, high, unit, whole))
    points = qmc.LatinHypercube(d=len(keys), seed=np.random.default_rng(seed)).random(n)
    variants: list[dict[str, Any]] = []
    for row in points:
        values: dict[str, Any] = {}
        for key, u, (low, high, unit, whole) in zip(keys, row, bounds, strict=True):
            x = low + u * (high - low)
            values[key] = round(x) if whole else (f"{x:.6g} {unit}" if unit else float(f"{x:.6g}"))
        variants.append(values)
    return variants, {key: True for key in keys}


def _grid(spec: Any, source: _Source, where: str) -> list[dict[str, Any]]:
    if not isinstance(spec, dict) or not spec:
        raise source.error((where,), "give keys with lists of values, e.g. grid: {horizon.end: [2030, 2035]}")
    for key, values in spec.items():
        if not isinstance(values, list) or not values:
            raise source.error((where, key), f"give a list of values, got {values!r}")
    keys = list(spec)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(spec[k] for k in keys))]


def _cases(spec: Any, source: _Source) -> list[dict[str, Any]]:
    if not isinstance(spec, list) or not spec:
        raise source.error(("cases",), "give a list of override mappings, e.g. cases: [{horizon.end: 2030}]")
    for i, case in enumerate(spec):
        if not isinstance(case, dict) or not case:
            raise source.error(("cases", i), f"give a mapping of key: value overrides, got {case!r}")
    return [dict(case) for case in spec]


def _key_line(source: _Source, key: str) -> tuple[Any, ...]:
    """Where a swept key was written in the sweep file (grid, a case, or the LHS ranges)."""
    for loc in (("grid", key), ("lhs", "ranges", key)):
        if loc in source.lines:
            return loc
    return next((loc for loc in source.lines if len(loc) == 3 and loc[0] == "cases" and loc[2] == key), ())


# -------------------------------------------------------------------------------------------- loading


def load_sweep(
    source: str | Path,
    vary: Sequence[str] = (),
    *,
    engine: str | None = None,
    samples: int | None = None,
    seeds: Sequence[int] | None = None,
) -> Sweep:
    """Read a sweep file (or a scenario file with ``vary``) into its tasks.

    Parameters
    ----------
    source
        A sweep file, a scenario file or a built-in scenario name.
    vary
        ``key=value1,value2,…`` items, crossed with the file's variants.
    engine, samples, seeds
        Replace the sweep file's values.

    Raises
    ------
    SweepError
        Naming the file, the line and the key of what is wrong (``FlopgridError`` for ``--vary``).

    Examples
    --------
    >>> sweep = load_sweep("reference", ["horizon.end=2030,2035"])
    >>> len(sweep.tasks)
    2
    """
    path = Path(source)
    spec: dict[str, Any] = {}
    if path.exists():
        loaded, lines, file = read_yaml(
            path, package="flopgrid.scenarios", shipped=[], what="a sweep file", error=SweepError
        )
        if not isinstance(loaded, dict):
            raise SweepError("a sweep file must be a YAML mapping", file=file)
        is_sweep = bool({"base", "grid", "cases", "lhs"} & set(loaded))
        spec = loaded if is_sweep else {"base": str(path)}
        where = _Source(file, lines if is_sweep else {})
    else:
        spec, where = {"base": str(source)}, _Source(str(source))
    file = where.file
    unknown = set(spec) - SWEEP_KEYS
    if unknown:
        first = sorted(unknown)[0]
        raise where.error((first,), f"unknown sweep key; expected some of {', '.join(sorted(SWEEP_KEYS))}")
    if sum(k in spec for k in ("grid", "cases", "lhs")) > 1:
        given = [k for k in ("grid", "cases", "lhs") if k in spec]
        raise SweepError(
            "give one of grid, cases or lhs (add more keys with --vary)",
            file=file,
            path="grid/cases/lhs",
            line=where.lines.get((given[-1],)),
        )
    try:
        base, _ = base_data(str(spec.get("base", "seed-7t")), path.parent if path.exists() else None)
    except FlopgridError as exc:
        if "base" not in spec or not where.lines:
            raise
        raise where.error(("base",), str(exc)) from None
    engine = engine or str(spec.get("engine", "simulate"))
    if engine not in ENGINES:
        raise where.error(("engine",), f"expected one of {', '.join(ENGINES)}, got {engine!r}")
    samples = samples if samples is not None else spec.get("samples", 1)
    if not isinstance(samples, int) or samples < 1:
        raise where.error(("samples",), f"expected a whole number ≥ 1, got {samples!r}")
    seed_list = list(seeds) if seeds is not None else spec.get("seeds", [0])
    if not isinstance(seed_list, list) or not seed_list or not all(isinstance(s, int) for s in seed_list):
        raise where.error(("seeds",), f"expected a list of whole numbers, got {seed_list!r}")
    outputs = spec.get("outputs", list(DEFAULT_OUTPUTS))
    if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
        raise where.error(("outputs",), f"expected a list of totals names, got {outputs!r}")
    numeric: dict[str, bool] = {}
    if "grid" in spec:
        variants = _grid(spec["grid"], where, "grid")
    elif "cases" in spec:
        variants = _cases(spec["cases"], where)
    elif "lhs" in spec:
        variants, numeric = _lhs(spec["lhs"], where)
    else:
        variants = [{}]
    extra = parse_vary(vary)
    if extra:
        variants = [{**v, **w} for v in variants for w in _grid(extra, _Source(file), "--vary")]
    if variants == [{}]:
        raise SweepError(
            "nothing to sweep; give grid, cases or lhs in a sweep file, or --vary key=a,b", file=file
        )
    keys = list(dict.fromkeys(k for v in variants for k in v))
    tasks: list[Task] = []
    try:
        for key in keys:
            _path(key, file)
        for values in variants:
            for seed in seed_list:
                data = copy.deepcopy(base)
                for key, value in values.items():
                    set_path(data, key, value, file)
                tasks.append(Task(len(tasks), values, data, engine, seed, samples))
    except SweepError as exc:
        line = where.line(_key_line(where, exc.path or ""))
        raise SweepError(exc.message, file=file, path=exc.path, line=line) from None
    name = str(spec.get("name") or Path(file).stem)
    return Sweep(name, file, keys, tasks, outputs, numeric)
