"""Derived scenarios (``Scenario.with_changes``, the CLI's ``--set``) and ``Scenario.from_dict``."""

from __future__ import annotations

import copy
import pickle

import pytest
import yaml
from pydantic import ValidationError

from allocator.scenario import Scenario, ScenarioError, load_scenario
from allocator.scenario.yaml_io import read_value
from tests.test_validation import INVALID_FILES, SPEC_EXAMPLE


@pytest.fixture
def base(tmp_path) -> Scenario:
    path = tmp_path / "fy.yaml"
    path.write_text(SPEC_EXAMPLE, encoding="utf-8")
    return load_scenario(path)


def problems(scenario: Scenario, changes: dict) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        scenario.with_changes(changes)
    return [str(p) for p in info.value.problems]


# --- addressing -----------------------------------------------------------------------------


def test_dotted_paths_ids_and_cells_change_the_named_values(base):
    s = base.with_changes(
        {"budget.total": "35M", "regions[west].growth_floor": "45%", "response[east/online].spend.max": "8M"}
    )
    assert s.budget.total == 35e6
    assert [r.growth_floor for r in s.regions] == [None, None, 0.45]
    assert (s.response[0].spend.min, s.response[0].spend.max) == (0, 8e6)


def test_policies_are_addressed_by_name(base):
    s = base.with_changes({"policies[online at most half of marketing].max": "40%"})
    assert [p.max for p in s.policies] == [None, 0.40]


def test_list_items_are_addressed_by_position(base):
    s = base.with_changes({"periods.seasonality[0]": "20%", "periods.seasonality[3]": "20%", "regions[-1].potential": "20M"})
    assert s.periods.seasonality == (0.20, 0.30, 0.30, 0.20)
    assert s.regions[2].potential == 20e6


def test_a_whole_item_or_section_can_be_replaced(base):
    s = base.with_changes(
        {"response[west/partner].curve": {"type": "exp", "max_lift": "3M", "scale": "1M"}, "solver": {"name": "cbc"}}
    )
    assert (s.response[1].curve.type, s.response[1].curve.scale) == ("exp", 1e6)
    assert (s.solver.name, s.solver.time_limit) == ("cbc", 120.0)  # the section replaced whole: defaults


def test_a_missing_section_is_created(base):
    s = base.with_changes({"sales_force.current.north": 9, "targets.growth_floor.growth": "25%"})
    assert s.sales_force.current == {"east": 15, "north": 9, "west": 3}
    assert s.targets.growth_floor["growth"] == 0.25


def test_changes_chain_and_keep_the_source(base):
    s = base.with_changes({"budget.total": "35M"}).with_changes({"regions[west].growth_floor": "45%"})
    assert (s.budget.total, s.regions[2].growth_floor) == (35e6, 0.45)
    assert s.source == base.source


def test_the_original_scenario_is_unchanged_and_frozen(base):
    before = base.model_dump()
    base.with_changes({"budget.total": "35M", "response[east/online].curve.shape": 2, "regions[west]": {"id": "west", "class": "emerging"}})
    assert base.model_dump() == before
    with pytest.raises(ValidationError):
        base.budget = None
    with pytest.raises(ValidationError):
        base.budget.total = 1.0


def test_mappings_inside_a_scenario_are_frozen_too(base):
    with pytest.raises(TypeError, match="with_changes"):
        base.sales_force.current["east"] = 99
    with pytest.raises(TypeError, match="with_changes"):
        base.targets.growth_floor.update(mature=0.5)
    assert base.sales_force.current == {"east": 15, "north": 8, "west": 3}
    assert pickle.loads(pickle.dumps(base)) == copy.deepcopy(base) == base
    assert yaml.safe_load(yaml.safe_dump(base.sales_force.current)) == {"east": 15, "north": 8, "west": 3}


# --- mistakes -------------------------------------------------------------------------------


def test_an_unknown_id_suggests_the_closest(base):
    assert problems(base, {"regions[wset].growth_floor": "40%"}) == [
        "--set regions[wset].growth_floor: no item 'wset' in regions; did you mean `west`?"
    ]


def test_an_unknown_cell_suggests_the_closest(base):
    assert problems(base, {"response[east/onlin].base": "1M"}) == [
        "--set response[east/onlin].base: no item 'east/onlin' in response; did you mean `east/online`?"
    ]


def test_an_unknown_policy_suggests_the_closest(base):
    assert problems(base, {"policies[online at most half].max": "40%"}) == [
        "--set policies[online at most half].max: no item 'online at most half' in policies;"
        " did you mean `online at most half of marketing`?"
    ]


def test_a_position_past_the_end_is_an_error(base):
    assert problems(base, {"regions[3].potential": "1M"}) == ["--set regions[3].potential: regions has no item 3 (it has 3)"]


def test_an_unknown_field_suggests_the_closest(base):
    assert problems(base, {"budget.totl": "35M"}) == ["--set budget.totl: unknown key `totl`; did you mean `total`?"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("budget..total", "cannot read path 'budget..total'"),
        ("budget.total[0]", "budget.total is not a list"),
        ("budget.total.x", "budget.total has no field 'x'"),
    ],
)
def test_unreadable_paths_are_errors(base, path, message):
    assert problems(base, {path: "1M"}) == [f"--set {path}: {message}"]


def test_the_response_model_cannot_be_swapped_by_an_override(base):
    assert problems(base, {"response_model": "../models/other.yaml"}) == [
        "--set response_model: the response model is merged when the file loads; edit the scenario file instead"
    ]


def test_a_bad_value_names_the_override(base):
    assert problems(base, {"budget.total": "lots"}) == [
        "--set budget.total: must be an amount such as 30M, 300k, 250万 or 3e7 (got 'lots')"
    ]
    assert problems(base, {"response[east/online].curve.shape": -2}) == [
        "--set response[east/online].curve.shape: must be > 0 (got -2)"
    ]


def test_a_bad_value_inside_a_replaced_item_names_the_field_below_the_override(base):
    assert problems(base, {"response[west/partner].curve": {"type": "exp", "max_lift": "3M", "scale": 0}}) == [
        "--set response[west/partner].curve.scale: must be > 0 (got 0)"
    ]


def test_an_override_that_breaks_its_section_names_the_override_and_the_section(base):
    assert problems(base, {"periods.seasonality[0]": "20%"}) == [
        "--set periods.seasonality[0]: periods.seasonality: must sum to 100% (sums to 95%)"
    ]
    assert problems(base, {"budget.reserve.min": "10%"}) == ["--set budget.reserve.min: must not exceed max (10% > 8%)"]


def test_an_override_that_breaks_a_cross_check_names_the_override(base):
    assert problems(base, {"response[east/online].region": "eats"}) == [
        "--set response[east/online].region: unknown region 'eats'; did you mean `east`?"
    ]


def test_every_override_problem_is_reported_at_once(base):
    assert problems(base, {"regions[wst].growth_floor": "40%", "budget.total": "lots", "solver.name": "gurobi"}) == [
        "--set budget.total: must be an amount such as 30M, 300k, 250万 or 3e7 (got 'lots')",
        "--set regions[wst].growth_floor: no item 'wst' in regions; did you mean `west`?",
        "--set solver.name: must be one of highs, cbc (got 'gurobi')",
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("35M", "35M"),
        ("3e7", "3e7"),
        ("30_000_000", 30_000_000),
        ("no", "no"),  # a region id, as in a file; not False
        ("true", True),
        ("[Q2, Q3]", ["Q2", "Q3"]),
        ("{min: 5%, max: 8%}", {"min": "5%", "max": "8%"}),
        ("[1,", "[1,"),  # not YAML: kept as text for the field to judge
        ("!!python/name:os.system", "!!python/name:os.system"),
        ("a: b", "a: b"),
        ("", ""),
    ],
)
def test_override_values_read_like_the_file(text, value):
    assert read_value(text) == value


# --- from_dict ------------------------------------------------------------------------------


def test_from_dict_accepts_the_spec_example():
    s = Scenario.from_dict(yaml.safe_load(SPEC_EXAMPLE))
    assert s.budget.total == 30e6 and s.source == "<dict>"
    assert s.with_changes({"budget.total": "35M"}).budget.total == 35e6


YAML_LEVEL = {"tab_indent_in_flow_mapping"}  # wrong as YAML text: a dict cannot carry the mistake
FIELD_LEVEL = [p for p in INVALID_FILES if p.stem not in YAML_LEVEL]


@pytest.mark.parametrize("path", FIELD_LEVEL, ids=[p.stem for p in FIELD_LEVEL])
def test_from_dict_gives_the_same_messages_as_the_file(path):
    """Same paths and messages; the file name becomes the ``source`` and there are no lines."""
    with pytest.raises(ScenarioError) as from_file:
        load_scenario(path)
    with pytest.raises(ScenarioError) as from_dict:
        Scenario.from_dict(yaml.safe_load(path.read_text(encoding="utf-8")), source="mine")
    assert sorted((p.path, p.message) for p in from_dict.value.problems) == sorted(
        (p.path, p.message) for p in from_file.value.problems
    )
    assert {(p.file, p.line) for p in from_dict.value.problems} == {("mine", None)}


@pytest.mark.parametrize("data", [[1, 2], "scenario: x", None])
def test_from_dict_of_something_else_is_an_error_not_a_crash(data):
    with pytest.raises(ScenarioError, match="a scenario must be a mapping of sections"):
        Scenario.from_dict(data)
