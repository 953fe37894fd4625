"""The ``uncertainty:`` section: validation messages, response-model merge, sampled factors and
the vectorised curve evaluator (against ``allocator.model.curves``' scalar one)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from allocator.model import curves as scalar
from allocator.scenario import Scenario, ScenarioError, load_scenario
from allocator.scenario.schema import ExpCurve, HillCurve, LinearCurve, LogCurve, PointsCurve
from allocator.uncertainty import curves, draw
from allocator.uncertainty.schema import PARAMETERS

TINY = """\
scenario: tiny
periods: {names: [H1, H2]}
budget: {total: 10M}
regions: [{id: east}, {id: west}]
channels: [{id: online, gross_margin: 40%}, {id: shops, gross_margin: 30%}]
response:
  - {region: east, channel: online, base: 2M, curve: {type: exp, max_lift: 10M, scale: 2M}}
  - {region: east, channel: shops, base: 3M, curve: {type: hill, max_lift: 8M, half_saturation: 2M}}
  - {region: west, channel: online, base: 1M, curve: {type: linear, roas: 2.0}}
  - {region: west, channel: shops, base: 1M, curve: {type: points, points: [[0, 0], [1M, 1M], [2M, 1.5M]]}}
"""


def write(tmp_path: Path, uncertainty: str, name: str = "s.yaml", body: str = TINY) -> Path:
    path = tmp_path / name
    path.write_text(body + textwrap.dedent(uncertainty), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    return [str(p) for p in exc.value.problems]


# --- validation -----------------------------------------------------------------------------


def test_a_valid_section_loads_with_defaults(tmp_path):
    s = load_scenario(write(tmp_path, "uncertainty:\n  spread: {max_lift: 20%, base: 0.05}\n"))
    u = s.uncertainty
    assert (u.distribution, u.samples, u.seed) == ("lognormal", 10_000, 0)
    assert u.spread_of("east", "online") == {"base": 0.05, "max_lift": 0.2}


def test_a_cell_entry_overrides_the_section_spread(tmp_path):
    text = """\
    uncertainty:
      spread: {max_lift: 20%, scale: 10%}
      cells: [{region: east, channel: online, spread: {max_lift: 50%}}]
    """
    u = load_scenario(write(tmp_path, text)).uncertainty
    assert u.spread_of("east", "online") == {"max_lift": 0.5, "scale": 0.1}
    assert u.spread_of("east", "shops") == {"max_lift": 0.2, "scale": 0.1}


def test_bad_fields_are_reported_with_file_line_and_path(tmp_path):
    text = """\
    uncertainty:
      distribution: lognormel
      spread: {max_lfit: 20%, scale: -5%}
      correlation: {channel: 70%, region: 50%}
      samples: 0
      seed: 1.5
    """
    path = write(tmp_path, text)
    found = problems(path)
    line = TINY.count("\n") + 1  # the `uncertainty:` line
    expect = [
        (line + 1, "uncertainty.distribution", "lognormal"),  # did you mean
        (line + 2, "uncertainty.spread.max_lfit", "max_lift"),
        (line + 2, "uncertainty.spread.scale", "must be between 0% and 500%"),
        (line + 3, "uncertainty.correlation.region", "sum to at most 100%"),
        (line + 4, "uncertainty.samples", ">= 1"),
        (line + 5, "uncertainty.seed", "whole number"),
    ]
    for at, field, words in expect:
        hits = [p for p in found if p.startswith(f"{path}:{at} {field}:")]
        assert hits and words in hits[0], (field, found)
    assert len(found) == len(expect)


def test_cell_entries_are_checked_against_the_response_cells(tmp_path):
    text = """\
    uncertainty:
      cells:
        - {region: east, channel: onlin, spread: {max_lift: 10%}}
        - {region: east, channel: shops, spread: {scale: 10%}}
        - {region: west, channel: online, spread: {cap: 10%}}
        - {region: east, channel: shops, spread: {shape: 10%}}
    """
    path = write(tmp_path, text)
    found = problems(path)
    line = TINY.count("\n") + 3
    assert any(p.startswith(f"{path}:{line} uncertainty.cells[0]:") and "east/online" in p for p in found), found
    assert any(p.startswith(f"{path}:{line + 1} uncertainty.cells[1].spread.scale:") and "hill curve has no `scale`" in p
               for p in found), found
    assert any(p.startswith(f"{path}:{line + 2} uncertainty.cells[2].spread.cap:") and "no cap" in p for p in found), found
    assert any(p.startswith(f"{path}:{line + 3} uncertainty.cells[3]:") and "listed twice" in p for p in found), found
    assert len(found) == 4


def test_the_cli_prints_the_problems_and_exits_2(tmp_path, cli):
    path = write(tmp_path, "uncertainty: {distribution: normal}\n")
    result = cli("risk", path)
    assert result.returncode == 2
    assert f"{path}:{TINY.count(chr(10)) + 1} uncertainty.distribution: must be one of lognormal, truncnormal" in result.stderr
    assert "Traceback" not in result.stderr


def test_risk_without_an_uncertainty_section_is_an_input_error(tmp_path, cli):
    path = tmp_path / "plain.yaml"
    path.write_text(TINY, encoding="utf-8")
    result = cli("risk", path, "--out", tmp_path / "runs")
    assert result.returncode == 2
    assert "uncertainty:" in result.stderr and not (tmp_path / "runs").exists()


def test_bad_samples_option_is_an_input_error(tmp_path, cli):
    path = write(tmp_path, "uncertainty: {spread: {base: 5%}}\n")
    result = cli("risk", path, "--samples", "0", "--out", tmp_path / "runs")
    assert result.returncode == 2 and "--samples" in result.stderr


def test_a_response_model_file_may_carry_the_section_and_the_scenario_wins(tmp_path):
    head, response = TINY.split("response:\n")
    model = "response:\n" + response + "uncertainty:\n  spread: {max_lift: 20%, base: 5%}\n  seed: 7\n"
    (tmp_path / "model.yaml").write_text(model, encoding="utf-8")
    scenario = head + "response_model: model.yaml\nuncertainty:\n  spread: {base: 10%}\n"
    s = load_scenario(write(tmp_path, "", body=scenario))
    assert s.uncertainty.spread_of("east", "online") == {"base": 0.1, "max_lift": 0.2}
    assert s.uncertainty.seed == 7


def test_errors_in_the_model_files_section_name_the_model_file(tmp_path):
    head, response = TINY.split("response:\n")
    model = "response:\n" + response + "uncertainty:\n  spread: {max_lift: -1}\n"
    (tmp_path / "model.yaml").write_text(model, encoding="utf-8")
    path = write(tmp_path, "", body=head + "response_model: model.yaml\n")
    found = problems(path)
    line = model.count("\n")
    assert found == [f"{tmp_path / 'model.yaml'}:{line} uncertainty.spread.max_lift: must be between 0% and 500% (got -1)"]


def test_the_section_survives_the_run_folder_round_trip(tmp_path):
    s = load_scenario(write(tmp_path, "uncertainty: {spread: {roas: 30%}, correlation: {region: 20%}, samples: 50}\n"))
    again = Scenario.from_dict(s.to_dict())
    assert again.uncertainty == s.uncertainty


# --- sampled factors -------------------------------------------------------------------------


def scenario(tmp_path, uncertainty: str) -> Scenario:
    return load_scenario(write(tmp_path, uncertainty))


def test_zero_spread_gives_factors_of_exactly_one(tmp_path):
    d = draw(scenario(tmp_path, "uncertainty: {samples: 100}\n"))
    assert all(np.array_equal(f, np.ones((100, 4))) for f in d.factors.values())


@pytest.mark.parametrize("distribution", ["lognormal", "truncnormal"])
def test_factors_have_mean_one_and_the_given_spread(tmp_path, distribution):
    s = scenario(tmp_path, f"uncertainty: {{distribution: {distribution}, spread: {{max_lift: 20%}}, samples: 100000}}\n")
    f = draw(s).factors["max_lift"][:, 0]
    # 100,000 draws: the standard error of the mean is 0.2 / sqrt(1e5) = 0.0006; of the sd about 0.0005
    assert abs(f.mean() - 1) < 0.003 and abs(f.std() - 0.2) < 0.003
    assert f.min() > 0
    if distribution == "truncnormal":
        assert f.max() <= 2.0


def test_a_large_truncated_spread_stays_within_zero_and_two(tmp_path):
    s = scenario(tmp_path, "uncertainty: {distribution: truncnormal, spread: {base: 300%}, samples: 20000}\n")
    f = draw(s).factors["base"]
    assert f.min() > 0 and f.max() <= 2 and abs(f.mean() - 1) < 0.02  # symmetric truncation keeps the mean


def test_correlation_within_a_channel_and_within_a_region(tmp_path):
    s = scenario(tmp_path, "uncertainty: {spread: {base: 1%}, correlation: {channel: 50%, region: 20%}, samples: 50000}\n")
    z = np.log(draw(s).factors["base"])  # lognormal: log-factors are the copula's normals, scaled
    c = np.corrcoef(z.T)
    # cells: 0 east/online, 1 east/shops, 2 west/online, 3 west/shops; sampling error ~ 1/sqrt(5e4)
    assert abs(c[0, 2] - 0.5) < 0.02 and abs(c[1, 3] - 0.5) < 0.02  # same channel
    assert abs(c[0, 1] - 0.2) < 0.02 and abs(c[2, 3] - 0.2) < 0.02  # same region
    assert abs(c[0, 3]) < 0.02  # neither


def test_same_seed_same_draws_and_one_spread_leaves_the_others_alone(tmp_path):
    a = draw(scenario(tmp_path, "uncertainty: {spread: {base: 10%, scale: 10%}, samples: 500, seed: 4}\n"))
    b = draw(scenario(tmp_path, "uncertainty: {spread: {base: 10%, scale: 30%}, samples: 500, seed: 4}\n"))
    c = draw(scenario(tmp_path, "uncertainty: {spread: {base: 10%, scale: 10%}, samples: 500, seed: 5}\n"))
    assert np.array_equal(a.factors["base"], b.factors["base"])
    assert not np.array_equal(a.factors["scale"], b.factors["scale"])
    assert not np.array_equal(a.factors["base"], c.factors["base"])
    assert set(a.factors) == set(PARAMETERS)


def test_a_spread_only_reaches_cells_whose_curve_has_the_parameter(tmp_path):
    d = draw(scenario(tmp_path, "uncertainty: {spread: {scale: 30%, cap: 30%}, samples: 200}\n"))
    varies = (d.factors["scale"] != 1).any(axis=0).tolist()
    assert varies == [True, False, False, False]  # only the exp curve has a scale
    assert not (d.factors["cap"] != 1).any()  # the linear curve has no cap


# --- the vectorised evaluator ----------------------------------------------------------------

CURVES = [
    HillCurve(type="hill", max_lift=8e6, half_saturation=2e6, shape=1.0),
    HillCurve(type="hill", max_lift=8e6, half_saturation=2e6, shape=2.5),
    ExpCurve(type="exp", max_lift=10e6, scale=2e6),
    LogCurve(type="log", scale_lift=4e6, scale=1e6),
    LinearCurve(type="linear", roas=2.5, cap=1.5e6),
    LinearCurve(type="linear", roas=2.5),
    PointsCurve(type="points", points=((0, 0), (1e6, 0.5e6), (2e6, 2.5e6), (4e6, 3.5e6))),
]


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.type)
def test_vectorised_values_match_the_scalar_curves_with_changed_parameters(curve):
    from allocator.uncertainty.schema import CURVE_PARAMETERS

    rng = np.random.default_rng(1)
    names = [n for n in CURVE_PARAMETERS[curve.type] if n != "cap" or curve.cap is not None]
    factors = {n: rng.uniform(0.3, 2.0, size=(25, 1)) for n in names}
    spend = np.array([0.0, 0.3e6, 1e6, 2.2e6, 5e6, 12e6])
    got = curves.value(curve, factors, spend)
    assert got.shape == (25, len(spend))
    for k in range(25):
        changed = type(curve).model_validate(curves.varied(curve, {n: float(f[k, 0]) for n, f in factors.items()}))
        np.testing.assert_allclose(got[k], scalar.value(changed, spend), rtol=1e-12, atol=1e-6)


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.type)
def test_no_factors_is_the_nominal_curve(curve):
    spend = np.linspace(0, 6e6, 13)
    np.testing.assert_array_equal(curves.value(curve, {}, spend), scalar.value(curve, spend))


def test_the_docstring_examples_run():
    import doctest

    import allocator.uncertainty.curves as module

    assert doctest.testmod(module).failed == 0
