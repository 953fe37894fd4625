"""Sweep grids: which points to solve, read from Python or from ``--param`` on the command line.

A grid maps override paths (the ``--set`` paths of ``Scenario.with_changes``) to lists of values.
Its points are the full product of the lists, or, with ``zip=True``, the lists taken side by side.

>>> points({"budget.total": ["20M", "30M"], "regions[west].growth_floor": ["30%", "40%"]})[:2]
[{'budget.total': '20M', 'regions[west].growth_floor': '30%'}, {'budget.total': '20M', 'regions[west].growth_floor': '40%'}]
>>> parse_param("budget.total=20M..40M:3")
('budget.total', [20000000.0, 30000000.0, 40000000.0])
"""

from __future__ import annotations

import builtins
import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import yaml

from allocator.scenario import Scenario, ScenarioError
from allocator.scenario.amounts import AmountError, parse_amount, parse_share
from allocator.scenario.errors import Problem
from allocator.scenario.load import parse_path

Grid = Mapping[str, Sequence[object]]
MAX_POINTS = 100_000  # a grid larger than this is almost certainly a typo in a point count


def points(grid: Grid, zip: bool = False) -> list[dict[str, object]]:
    """The override dicts of a grid, in order: the last path varies fastest (like nested loops)."""
    paths = list(grid)
    lists = [list(grid[p]) for p in paths]
    if zip:
        lengths = {len(values) for values in lists}
        if len(lengths) > 1:
            sizes = ", ".join(f"{p} has {len(v)}" for p, v in builtins.zip(paths, lists))
            raise ScenarioError([Problem("--param", None, "", f"with --zip every parameter needs as many values ({sizes})")])
        combos = builtins.zip(*lists)
    else:
        check_size(lists)  # counted before a single point is built
        combos = itertools.product(*lists)
    return [dict(builtins.zip(paths, combo)) for combo in combos]


def check_size(lists: Sequence[Sequence[object]]) -> None:
    """A full grid over ``lists`` has the product of their sizes as points: at most ``MAX_POINTS``."""
    size = math.prod(len(values) for values in lists)
    if size > MAX_POINTS:
        sizes = " x ".join(str(len(values)) for values in lists)
        raise ScenarioError([Problem("--param", None, "", f"{sizes} = {size} points; at most {MAX_POINTS}")])


def number(text: str) -> float:
    """``"35M"`` -> 35e6, ``"40%"`` -> 0.4, ``"1.5"`` -> 1.5 (the ends of a ``LO..HI`` range)."""
    text = text.strip()
    return parse_share(text) if text.endswith("%") else parse_amount(text)


def parse_param(text: str) -> tuple[str, list[object]]:
    """``PATH=LO..HI:N`` (N evenly spaced numbers) or ``PATH=V1,V2,V3`` (values read as YAML)."""
    path, sep, spec = text.partition("=")
    path = path.strip()
    if not sep or not path or not spec.strip():
        raise ScenarioError([Problem("--param", None, text, "must look like PATH=LO..HI:N or PATH=V1,V2,V3, "
                                                           "e.g. budget.total=20M..40M:11")])
    if ".." in spec:
        return path, _parse_range(text, spec)
    values = []
    for raw in spec.split(","):
        try:
            values.append(yaml.safe_load(raw) if raw.strip() else "")
        except yaml.YAMLError:
            values.append(raw.strip())
    return path, values


def _parse_range(text: str, spec: str) -> list[float]:
    bounds, colon, count = spec.rpartition(":")
    if not colon:
        bounds, count = spec, ""
    low, _, high = bounds.partition("..")
    try:
        a, b = number(low), number(high)
    except AmountError as exc:
        raise ScenarioError([Problem("--param", None, text, f"range ends {exc}")]) from None
    if not count.strip().isdigit() or int(count) < 2:
        raise ScenarioError([Problem("--param", None, text, "a range needs a point count of at least 2: LO..HI:N")])
    n = int(count)
    if n > MAX_POINTS:
        raise ScenarioError([Problem("--param", None, text, f"at most {MAX_POINTS} points")])
    return [float(v) for v in np.linspace(a, b, n)]


def parse_params(items: Sequence[str], zip: bool = False) -> dict[str, list[object]]:
    """Every ``--param`` into a grid; a path given twice is an error."""
    grid: dict[str, list[object]] = {}
    problems = []
    for item in items:
        try:
            path, values = parse_param(item)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        if path in grid:
            problems.append(Problem("--param", None, path, "is given twice; list all its values in one --param"))
        grid[path] = values
    if not grid and not problems:
        problems.append(Problem("--param", None, "", "give at least one, e.g. --param budget.total=20M..40M:11"))
    if problems:
        raise ScenarioError(problems)
    return grid


def check_grid(scenario: Scenario, grid: Grid, zip: bool = False) -> list[dict[str, object]]:
    """The grid's points, after checking each path and each value alone against the scenario.

    Mistakes that no point could survive (an unknown path, a value of the wrong kind) are raised
    at once, all together, before anything is solved. Combinations that are invalid together
    (e.g. a reserve minimum above the maximum) become rows with status ``invalid`` later.
    """
    problems: list[Problem] = []
    sized = [v for v in grid.values() if isinstance(v, Sequence) and not isinstance(v, (str, bytes))]
    if not zip:
        check_size(sized)  # before checking (or building) any value of a grid that is too large
    for path, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            problems.append(Problem("--param", None, path, "needs a list of values"))
            continue
        if not values:
            problems.append(Problem("--param", None, path, "has no values"))
            continue
        for value in dict.fromkeys(map(_hashable, values)):
            try:
                scenario.with_changes({path: _unhashable(value)})
            except ScenarioError as exc:
                problems.extend(exc.problems)
                break  # one message per path is enough
    if problems:
        raise ScenarioError(problems)
    result = points(grid, zip=zip)
    if len(result) > MAX_POINTS:
        raise ScenarioError([Problem("--param", None, "", f"{len(result)} points; at most {MAX_POINTS}")])
    return result


def _hashable(value: object) -> object:
    return ("__list__", tuple(map(_hashable, value))) if isinstance(value, list) else value


def _unhashable(value: object) -> object:
    if isinstance(value, tuple) and value[:1] == ("__list__",):
        return [_unhashable(v) for v in value[1]]
    return value


def get_value(scenario: Scenario | dict, path: str) -> object:
    """The resolved value at an override path (amounts as numbers, shares as fractions), read from
    a scenario or from its ``to_dict()`` (to read several paths of one scenario at once).

    >>> from allocator import load_scenario
    >>> get_value(load_scenario("scenarios/annual_plan.yaml"), "budget.reserve.max")
    0.08
    """
    node: object = scenario if isinstance(scenario, dict) else scenario.to_dict()
    parent = ""
    for part in parse_path(path):
        if isinstance(part, tuple):
            if not isinstance(node, list):
                raise KeyError(f"{parent} is not a list")
            node = node[_find(node, parent, part[0])]
            continue
        if not isinstance(node, dict) or part not in node:
            return None  # a field left at its default (e.g. no growth floor of its own)
        node, parent = node[part], part
    return node


def _find(items: list, list_name: str, key: str) -> int:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        if list_name == "response" and f"{item.get('region')}/{item.get('channel')}" == key:
            return i
        if str(item.get("name" if list_name == "policies" else "id")) == key:
            return i
    index = int(key)  # by position, as with_changes allows
    return index % len(items)
