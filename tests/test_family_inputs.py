"""``update`` rebuilds only the families whose inputs changed: what each family reads is recorded
while it builds (``allocator/model/inputs.py``), so a change it depends on is never skipped."""

import pytest

from allocator.model import families
from allocator.model.build import build_model
from allocator.model.data import planning_data
from tests.test_planning_model import _models, assert_same_arrays
from tests.test_sensitivity import lp_scenario


def _updated(changes):
    model, data = _models(lp_scenario(), changes)
    model.solve()
    model.update(data)
    fresh = build_model(data, unit=model.unit)
    assert_same_arrays(model.form, fresh.form)
    return model


def test_a_budget_change_rebuilds_the_families_that_read_the_budget_and_copies_the_rest():
    model = _updated({"budget.total": "2.7M"})
    assert {"budget", "policies"} <= model.rebuilt
    assert not {"response", "growth_floors", "potential", "revenue_floor"} & model.rebuilt


def test_a_number_read_by_one_family_rebuilds_that_family_only():
    assert _updated({"regions[east].potential": "18M"}).rebuilt == {"potential"}
    assert _updated({"targets.revenue": "20.5M"}).rebuilt == {"revenue_floor"}


def test_a_changed_response_rebuilds_the_families_that_take_its_columns():
    model = _updated({"response[west/online].base": "2.5M"})
    assert {"response", "spend_bounds", "budget", "growth_floors", "roi", "policies"} <= model.rebuilt


def test_what_a_family_reads_is_recorded_field_by_field():
    model = build_model(planning_data(lp_scenario()))
    assert model.family_reads["potential"].data == {"potential"}
    assert "budget" in model.family_reads["budget"].data
    assert {"lo", "hi"} <= model.family_reads["spend_bounds"].cell


def test_a_family_that_sets_model_state_it_does_not_declare_is_refused(monkeypatch):
    def add_potential(model):
        model.core = {"hidden": 1}  # another family's state, set behind its back

    monkeypatch.setattr(families, "add_potential", add_potential)
    with pytest.raises(RuntimeError, match="potential family sets"):
        build_model(planning_data(lp_scenario()))
