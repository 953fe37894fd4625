"""Sampled bases and curve parameters, as multipliers of their nominal values (docs/uncertainty.md).

Each parameter of each cell is ``nominal * factor``. For one parameter, the factors of all cells
come from a Gaussian copula with a one-factor structure per channel and per region:

    z_cell = sqrt(rho_channel) * C_channel + sqrt(rho_region) * R_region
             + sqrt(1 - rho_channel - rho_region) * E_cell

(C, R, E independent standard normals), so two cells of one channel correlate by
``rho_channel``, two of one region by ``rho_region``, and a cell with itself by 1. Different
parameters are independent. ``z`` becomes a factor with mean 1 and coefficient of variation
``cv``: lognormal ``exp(sigma z - sigma^2/2)`` with ``sigma^2 = ln(1 + cv^2)``, or a normal with
mean 1 and sd ``cv`` truncated to ``[0, 2]`` (symmetric, so the mean stays 1; the sd is below
``cv`` once ``cv`` is large). The normals are drawn for every parameter in a fixed order whatever
the spreads, so changing one spread leaves the draws of the others as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from allocator.scenario import Problem, Scenario, ScenarioError
from allocator.uncertainty.schema import CURVE_PARAMETERS, MAX_SAMPLES, PARAMETERS, Uncertainty

SMALLEST_FACTOR = 1e-9  # a truncated normal may reach 0; a curve needs positive parameters


@dataclass(frozen=True)
class Draws:
    """``factors[name][k, i]`` multiplies parameter ``name`` of cell ``i`` (scenario order) in sample ``k``."""

    cells: tuple[tuple[str, str], ...]
    factors: dict[str, np.ndarray]
    samples: int
    seed: int
    distribution: str

    def cell(self, i: int) -> dict[str, np.ndarray]:
        """The factors of cell ``i`` that vary, each of shape ``(samples, 1)``."""
        return {name: f[:, i : i + 1] for name, f in self.factors.items() if name != "base" and _varies(f[:, i])}

    def one(self, k: int, i: int) -> dict[str, float]:
        """The factors of cell ``i`` in sample ``k`` (curve parameters only)."""
        return {name: float(f[k, i]) for name, f in self.factors.items() if name != "base" and f[k, i] != 1.0}


def _varies(column: np.ndarray) -> bool:
    return bool(np.any(column != 1.0))


def uncertainty_of(scenario: Scenario) -> Uncertainty:
    """The scenario's ``uncertainty:`` section; an error naming the file when there is none."""
    if scenario.uncertainty is None:
        message = "has no `uncertainty:` section: add one to say how far the curves may be off (docs/uncertainty.md)"
        raise ScenarioError([Problem(scenario.source, None, "", message)])
    return scenario.uncertainty


def check_run_options(samples: int | None, seed: int | None) -> None:
    problems = []
    if samples is not None and not 1 <= samples <= MAX_SAMPLES:
        problems.append(Problem("--samples", None, "", f"must be between 1 and {MAX_SAMPLES:,} (got {samples})"))
    if seed is not None and seed < 0:
        problems.append(Problem("--seed", None, "", f"must be >= 0 (got {seed})"))
    if problems:
        raise ScenarioError(problems)


def draw(scenario: Scenario, samples: int | None = None, seed: int | None = None) -> Draws:
    """Sampled factors for every cell; ``samples`` and ``seed`` default to the section's."""
    check_run_options(samples, seed)
    u = uncertainty_of(scenario)
    samples = u.samples if samples is None else samples
    seed = u.seed if seed is None else seed
    cells = tuple((c.region, c.channel) for c in scenario.response)
    regions = sorted({r for r, _ in cells})
    channels = sorted({c for _, c in cells})
    region_of = np.array([regions.index(r) for r, _ in cells])
    channel_of = np.array([channels.index(c) for _, c in cells])
    rho_c, rho_r = u.correlation.channel, u.correlation.region
    own = np.sqrt(max(0.0, 1.0 - rho_c - rho_r))
    cv = _spreads(scenario, u)
    rng = np.random.default_rng(seed)
    factors = {}
    for j, name in enumerate(PARAMETERS):
        shared_c = rng.standard_normal((samples, len(channels)))
        shared_r = rng.standard_normal((samples, len(regions)))
        single = rng.standard_normal((samples, len(cells)))
        z = np.sqrt(rho_c) * shared_c[:, channel_of] + np.sqrt(rho_r) * shared_r[:, region_of] + own * single
        factors[name] = _factor(z, cv[:, j], u.distribution)
    return Draws(cells, factors, samples, seed, u.distribution)


def _spreads(scenario: Scenario, u: Uncertainty) -> np.ndarray:
    """``cv[i, j]``: spread of parameter ``PARAMETERS[j]`` in cell ``i`` (0 where the curve lacks it)."""
    cv = np.zeros((len(scenario.response), len(PARAMETERS)))
    for i, cell in enumerate(scenario.response):
        has = ("base", *CURVE_PARAMETERS[cell.curve.type])
        for name, value in u.spread_of(cell.region, cell.channel).items():
            if name in has and not (name == "cap" and cell.curve.cap is None):
                cv[i, PARAMETERS.index(name)] = value
    return cv


def _factor(z: np.ndarray, cv: np.ndarray, distribution: str) -> np.ndarray:
    """Standard normals ``z`` (samples x cells) as factors with mean 1 and spread ``cv`` per cell."""
    if distribution == "lognormal":
        sigma = np.sqrt(np.log1p(cv**2))
        return np.exp(sigma * z - 0.5 * sigma**2)
    with np.errstate(divide="ignore"):
        half = np.where(cv > 0, 1.0 / np.where(cv > 0, cv, 1.0), np.inf)  # [0, 2] in sd units
    low, high = ndtr(-half), ndtr(half)
    t = ndtri(low + ndtr(z) * (high - low))
    factor = np.where(cv > 0, 1.0 + cv * t, 1.0)
    return np.clip(factor, SMALLEST_FACTOR, 2.0)
