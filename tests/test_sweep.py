"""Sweep files: grids, cases, Latin hypercubes, --vary, key paths and clear errors (no cluster here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flopgrid.errors import FlopgridError
from flopgrid.scenario import load_scenario
from flopgrid.sweep import Sweep, SweepError, Task, load_sweep, parse_vary, set_path


def test_vary_on_a_scenario_makes_a_grid() -> None:
    sweep = load_sweep("reference", ["horizon.end=2030,2035", "existing_industry=true,false"])
    assert len(sweep.tasks) == 4
    assert sweep.keys == ["horizon.end", "existing_industry"]
    ends = sorted((t.data["horizon"]["end"], t.data["existing_industry"]) for t in sweep.tasks)
    assert ends == [(2030, False), (2030, True), (2035, False), (2035, True)]
    # The base scenario's other content is kept.
    assert all(t.data["name"] == "reference" for t in sweep.tasks)


def test_sweep_file_grid_with_seeds_and_relative_base(write_yaml: Callable[..., Path]) -> None:
    write_yaml("name: base\nhorizon: {start: 2025, end: 2030}\n", "base.yaml")
    path = write_yaml(
        "name: g\nbase: base.yaml\nsamples: 2\nseeds: [1, 2, 3]\ngrid:\n  horizon.end: [2028, 2029]\n"
        "  builds.datacentres: [[], [{region: US, it_power: 1 GW, start: 2026}]]\n",
        "g.yaml",
    )
    sweep = load_sweep(path)
    assert len(sweep.tasks) == 2 * 2 * 3
    assert {t.seed for t in sweep.tasks} == {1, 2, 3} and {t.samples for t in sweep.tasks} == {2}
    assert sweep.tasks[0].data["horizon"] == {"start": 2025, "end": 2028}


def test_cases_and_nested_list_paths(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(
        "base: seed-7t\ncases:\n  - builds.datacentres[0].count: 2\n"
        "  - {horizon.end: 2033, policy.exclude: []}\n",
        "c.yaml",
    )
    sweep = load_sweep(path)
    assert len(sweep.tasks) == 2
    assert sweep.tasks[0].data["builds"]["datacentres"][0]["count"] == 2
    assert sweep.tasks[1].data["horizon"]["end"] == 2033


def test_latin_hypercube_has_one_point_per_stratum(write_yaml: Callable[..., Path]) -> None:
    n = 8
    path = write_yaml(
        f"base: reference\nlhs:\n  n: {n}\n  seed: 3\n  ranges:\n"
        '    finance.inflation: ["1 %/year", "3 %/year"]\n    horizon.end: [2030, 2046]\n',
        "l.yaml",
    )
    sweep = load_sweep(path)
    assert len(sweep.tasks) == n
    inflation = np.array([float(t.values["finance.inflation"].split()[0]) for t in sweep.tasks])
    assert all(t.values["finance.inflation"].endswith(" %/year") for t in sweep.tasks)
    # Latin hypercube: each of the n equal slices of the range holds exactly one point.
    assert sorted(np.floor((inflation - 1) / (2 / n)).astype(int)) == list(range(n))
    ends = [t.values["horizon.end"] for t in sweep.tasks]
    assert all(isinstance(e, int) and 2030 <= e <= 2046 for e in ends)
    assert sweep.numeric == {"finance.inflation": True, "horizon.end": True}


def test_set_path_creates_mappings_and_rejects_bad_indexes() -> None:
    data: dict[str, object] = {"builds": {"fabs": []}}
    set_path(data, "parameters.accelerators.H100.price", "30000 USD")
    assert data["parameters"] == {"accelerators": {"H100": {"price": "30000 USD"}}}
    with pytest.raises(FlopgridError, match=r"builds\.fabs\[0\]\.count: index \[0\] is beyond the 0 item"):
        set_path(data, "builds.fabs[0].count", 2, "s.yaml")
    with pytest.raises(FlopgridError, match="not a key path"):
        set_path(data, "a..b", 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("base: reference\ngrid: {horizon.end: 2030}\n", r"grid\.horizon\.end: give a list of values"),
        ("base: reference\ngrid: {horizon.end: [2030]}\ncases: [{horizon.end: 2031}]\n", "give one of grid"),
        ("base: reference\ngird: {horizon.end: [2030]}\n", "gird: unknown sweep key"),
        ("base: nowhere.yaml\ngrid: {horizon.end: [2030]}\n", "nowhere.yaml: no such scenario"),
        (
            "base: reference\nengine: solve\ngrid: {horizon.end: [2030]}\n",
            "engine: expected one of simulate, plan",
        ),
        ("base: reference\nlhs: {n: 4, ranges: {horizon.end: [2040, 2030]}}\n", "low must be below high"),
        ("base: reference\nlhs: {n: 4, ranges: {finance.inflation: [1 %/year, 0.05]}}\n", "same unit"),
        ("base: reference\n", "nothing to sweep"),
    ],
)
def test_bad_sweep_files_name_the_file_and_key(
    write_yaml: Callable[..., Path], text: str, message: str
) -> None:
    path = write_yaml(text, "bad.yaml")
    with pytest.raises(FlopgridError, match=message) as info:
        load_sweep(path)
    assert "bad.yaml" in str(info.value) or "nowhere.yaml" in str(info.value)


def test_parse_vary_reads_values_as_yaml() -> None:
    assert parse_vary(["horizon.end=2030,2035", "finance.inflation=2 %/year"]) == {
        "horizon.end": [2030, 2035],
        "finance.inflation": ["2 %/year"],
    }
    with pytest.raises(FlopgridError, match="key=value1,value2"):
        parse_vary(["horizon.end"])


def test_sensitivity_ranks_the_key_that_moves_an_output(tmp_path: Path) -> None:
    """The main-effect table on a store filled by hand-computed summaries (no engine needed)."""
    from flopgrid.store import RunStore, failure_record
    from flopgrid.sweep import sensitivity

    store = RunStore(tmp_path / "s.duckdb")
    tasks, keys = [], {}
    for i, (a, b) in enumerate([(1, "x"), (1, "y"), (2, "x"), (2, "y")]):
        tasks.append(Task(i, {"a": a, "b": b}, {}, "simulate", 0, 1))
        keys[i] = f"k{i}"
    sweep = Sweep("s", "s.yaml", ["a", "b"], tasks, ["out"])
    # out = 10·a + (1 if b == "y"): a moves it by 10 around a mean of 16, b by 1.
    values = {f"k{i}": 10 * t.values["a"] + (t.values["b"] == "y") for i, t in enumerate(tasks)}
    records = []
    for key, value in values.items():
        record = failure_record({"name": key}, engine="simulate", seed=0, samples=1, error="-")
        records.append((key, value, record))
    store.write([r for _, _, r in records])
    import duckdb

    with duckdb.connect(str(store.path)) as con:
        for key, value, record in records:
            con.execute(
                "UPDATE runs SET status = 'complete', task_key = ?, summary = ? WHERE run_id = ?",
                [key, f'{{"out": {{"value": {value}, "unit": "1"}}}}', record.run_id],
            )
    table = sensitivity(sweep, store, keys)
    assert table.loc["out", "a [% of mean]"] == pytest.approx(100 * 10 / 15.5)
    assert table.loc["out", "b [% of mean]"] == pytest.approx(100 * 1 / 15.5)
    assert table.loc["out", "moved most by"] == "a"
    assert isinstance(table, pd.DataFrame)


def test_sweep_file_errors_name_their_line(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(
        "name: lines\nbase: reference\ngrid:\n  horizon.end: [2030]\n  builds.fabs[7].count: [1, 2]\n",
        "lines.yaml",
    )
    with pytest.raises(SweepError, match=r"lines\.yaml:5: builds\.fabs\[7\]\.count: index \[7\]") as info:
        load_sweep(path)
    assert info.value.line == 5
    path = write_yaml("base: reference\nsamples: 1\ngrid:\n  horizon.end: 2030\n", "value.yaml")
    with pytest.raises(SweepError, match=r"value\.yaml:4: grid\.horizon\.end: give a list of values"):
        load_sweep(path)


def test_a_key_given_twice_in_a_sweep_file_is_an_error(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml("base: reference\ngrid:\n  horizon.end: [2030]\n  horizon.end: [2035]\n", "twice.yaml")
    with pytest.raises(SweepError, match=r"twice\.yaml:4: key 'horizon\.end' appears twice"):
        load_sweep(path)


def test_quantities_with_units_in_vary_and_grid_values(write_yaml: Callable[..., Path]) -> None:
    sweep = load_sweep("seed-7t", ["builds.datacentres[0].it_power=5 GW,7.5 GW"])
    powers = [load_scenario(t.data).builds.datacentres[0].it_power for t in sweep.tasks]
    assert powers == [pytest.approx(5e9), pytest.approx(7.5e9)]
    path = write_yaml(
        "base: seed-7t\ngrid:\n  builds.fabs[0].capex: [21.5 billion USD, 43 billion USD]\n", "q.yaml"
    )
    capex = [load_scenario(t.data).builds.fabs[0].capex for t in load_sweep(path).tasks]
    assert capex == [pytest.approx(21.5e9), pytest.approx(43e9)]


def test_latin_hypercube_reads_ranges_with_pint(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(
        "base: seed-7t\nlhs:\n  n: 4\n  ranges:\n    builds.fabs[0].capex: [20 billion USD, $40B]\n"
        '    builds.datacentres[0].it_power: ["4000 MW", "6 GW"]\n',
        "lq.yaml",
    )
    tasks = load_sweep(path).tasks
    capex = sorted(float(t.values["builds.fabs[0].capex"].split()[0]) for t in tasks)
    # The unit as written ("billion USD"); one point in each quarter of [20, 40].
    assert all(t.values["builds.fabs[0].capex"].endswith(" billion USD") for t in tasks)
    assert sorted(np.floor((np.array(capex) - 20) / 5).astype(int)) == [0, 1, 2, 3]
    power = [load_scenario(t.data).builds.datacentres[0].it_power for t in tasks]
    assert all(4e9 <= p <= 6e9 for p in power)
    bad = write_yaml(
        "base: seed-7t\nlhs:\n  n: 2\n  ranges:\n    horizon.end: [5 GW, 10 wombats]\n", "b.yaml"
    )
    with pytest.raises(SweepError, match=r"b\.yaml:5: lhs\.ranges\.horizon\.end: give numbers with a unit"):
        load_sweep(bad)
