"""Bad input: one clear ScenarioError per kind, naming the file, the line, the field and the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from flopgrid import ScenarioError, load_scenario

PROGRAMME = """\
name: t
horizon: {start: 2025, end: 2030}
existing_industry: false
builds:
  datacentres:
    - region: US
      it_power: 1 GW
      start: 2026
"""


def error_for(write_yaml: Callable[[str], Path], text: str) -> ScenarioError:
    path = write_yaml(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    return info.value


def test_a_valid_scenario_loads(write_yaml: Callable[[str], Path]) -> None:
    scenario = load_scenario(write_yaml(PROGRAMME))
    assert scenario.builds.datacentres[0].it_power == 1e9


def test_malformed_yaml_names_the_line(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, "name: t\nbuilds:\n  fabs: [\n    {region: TW\n")
    assert "malformed YAML" in error.message
    assert error.line is not None and error.line >= 4


def test_unknown_key_suggests_the_closest(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME.replace("horizon:", "horizn:"))
    assert error.path == "horizn"
    assert "Did you mean 'horizon'?" in error.message
    assert error.line == 2


def test_unknown_key_inside_a_build(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME.replace("it_power:", "it_powr:"))
    assert error.path == "builds.datacentres[0].it_powr"
    assert "Did you mean 'it_power'?" in error.message
    assert error.line == 7


def test_missing_unit(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME.replace("1 GW", "1000"))
    assert error.path == "builds.datacentres[0].it_power"
    assert "5 GW" in error.message  # shows the expected form


def test_wrong_unit(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME.replace("1 GW", "1 GB"))
    assert "a power is expected" in error.message
    assert error.line == 7


def test_negative_value(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME.replace("1 GW", "-1 GW"))
    assert error.path == "builds.datacentres[0].it_power"
    assert "greater than 0" in error.message


def test_physically_absurd_parameter(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME + "parameters:\n  datacentres:\n    pue: 0.5\n")
    assert error.path == "parameters.datacentres.pue"
    assert "between 1 and 5" in error.message


def test_share_above_one(write_yaml: Callable[[str], Path]) -> None:
    text = PROGRAMME.replace(
        "      start: 2026\n",
        "      start: 2026\n  fabs:\n    - {region: TW, "
        "capacity: 1000 wafer/month, start: 2025, ai_share: 1.5}\n",
    )
    error = error_for(write_yaml, text)
    assert error.path == "builds.fabs[0].ai_share"


def test_unknown_region_suggests(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME.replace("region: US", "region: USA"))
    assert error.path == "builds.datacentres[0].region"
    assert "unknown region 'USA'" in error.message and "Did you mean 'US'?" in error.message


def test_unknown_accelerator(write_yaml: Callable[[str], Path]) -> None:
    text = PROGRAMME + "chips:\n  mix: {H1000: 1.0}\n"
    error = error_for(write_yaml, text)
    assert error.path == "chips.mix.H1000"
    assert "Did you mean 'H100'?" in error.message


def test_year_outside_the_horizon(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME.replace("start: 2026", "start: 2045"))
    assert error.path == "builds.datacentres[0].start"
    assert "outside the horizon 2025–2030" in error.message


def test_shares_must_sum_to_one(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME + "chips:\n  allocation: {US: 0.5, JP: 0.2}\n")
    assert "add up to 1" in error.message


def test_horizon_end_before_start(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME.replace("end: 2030", "end: 2020"))
    assert error.path == "horizon"


def test_purchases_need_the_programme_only_mode(write_yaml: Callable[[str], Path]) -> None:
    text = PROGRAMME.replace("existing_industry: false", "existing_industry: true")
    text += "  purchases:\n    - {accelerator: H100, region: US, quantity: 1000, year: 2026}\n"
    error = error_for(write_yaml, text)
    assert "chips.allocation" in error.message


def test_duplicate_key(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME + "name: again\n")
    assert "appears twice" in error.message
    assert error.line == 9


def test_not_a_mapping(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, "- just\n- a list\n")
    assert "mapping" in error.message


def test_unknown_override_table_and_parameter(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME + "parameters:\n  datacentre:\n    pue: 1.2\n")
    assert "Did you mean 'datacentres'?" in error.message
    error = error_for(
        write_yaml, PROGRAMME + "parameters:\n  regions:\n    US:\n      electricity_prize: 1\n"
    )
    assert error.path == "parameters.regions.US.electricity_prize"
    assert "Did you mean 'electricity_price'?" in error.message


def test_override_needs_its_unit(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(
        write_yaml, PROGRAMME + "parameters:\n  regions:\n    US:\n      electricity_price: 80\n"
    )
    assert "USD" in error.message or "unit" in error.message
    assert error.line == 12


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario("does/not/exist.yaml")


def test_error_text_names_file_line_and_field(write_yaml: Callable[[str], Path]) -> None:
    error = error_for(write_yaml, PROGRAMME.replace("1 GW", "1 GB"))
    assert str(error).startswith(f"{error.file}:7: builds.datacentres[0].it_power:")


def test_per_region_value_of_a_global_parameter(write_yaml: Callable[[str], Path]) -> None:
    text = PROGRAMME + "parameters:\n  accelerators:\n    H100:\n      logic_die_area: {US: 800 mm^2}\n"
    error = error_for(write_yaml, text)
    assert error.path == "parameters.accelerators.H100.logic_die_area"
    assert "same in every region" in error.message


def test_a_dumped_scenario_loads_again_unchanged() -> None:
    scenario = load_scenario("seed-7t")
    again = load_scenario(scenario.model_dump(exclude={"source_file"}))
    assert again.content_hash() == scenario.content_hash()
    assert again.builds == scenario.builds


def test_an_unknown_key_that_looks_like_a_union_label_is_named() -> None:
    with pytest.raises(ScenarioError, match=r"unknown key 'dict\[x\]'"):
        load_scenario({"name": "x", "dict[x]": 1})
