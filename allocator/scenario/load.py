"""From YAML (or a dict) to a validated :class:`Scenario`, with every problem reported at once."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import PrivateAttr, ValidationError

from allocator.scenario.checks import cross_check, did_you_mean
from allocator.scenario.errors import Problem, ScenarioError, format_path
from allocator.scenario.messages import Override, locate, problems_from
from allocator.scenario.notes import default_notes
from allocator.scenario.partial import partial_scenario
from allocator.scenario.schema import ScenarioModel
from allocator.scenario.size import size_problem
from allocator.scenario.yaml_io import LocDict, LocList, line_of, load_yaml

MODEL_FILE_KEYS = ("description", "response", "channels", "uncertainty")


class Scenario(ScenarioModel):
    """A validated, frozen scenario. Build it with :func:`load_scenario` or :meth:`from_dict`."""

    _data: object = PrivateAttr(default=None)
    _source: str = PrivateAttr(default="<dict>")

    @classmethod
    def from_dict(cls, data: Mapping, *, source: str = "<dict>", base_dir: Path | str | None = None) -> Scenario:
        """Validate a plain mapping exactly as a scenario file would be validated.

        >>> s = Scenario.from_dict(EXAMPLE)  # doctest: +SKIP
        """
        if not isinstance(data, Mapping):
            raise ScenarioError([Problem(source, None, "", f"a scenario must be a mapping of sections (got {_what(data)})")])
        loc_data = _plain_to_loc(data, source)
        merged, problems = _merge_response_model(loc_data, Path(base_dir or "."))
        return _validate(merged, source, problems=problems)

    def with_changes(self, changes: Mapping[str, object]) -> Scenario:
        """A changed copy: ``scenario.with_changes({"budget.total": "35M"})``.

        Paths are dotted; list items are addressed by id (``regions[west].growth_floor``),
        response cells by ``region/channel`` (``response[east/online].spend.max``), policies by
        name, or any list by position (``periods.seasonality[0]``).
        """
        if self._data is None:  # built with model_validate(): start from the resolved values
            data = _plain_to_loc(self.model_dump(by_alias=True, exclude_none=True), self._source)
        else:
            data = copy_data(self._data)
        overridden: list[Override] = []
        problems = []
        for path, value in changes.items():
            if not isinstance(path, str):
                problems.append(Problem("--set", None, repr(path), "a path must be text, e.g. 'budget.total'"))
                continue
            try:
                if path.split(".")[0].split("[")[0] == "response_model":
                    raise KeyError("the response model is merged when the file loads; edit the scenario file instead")
                loc = set_path(data, path, value)
                overridden.append((loc, path))
            except KeyError as exc:
                problems.append(Problem("--set", None, path, exc.args[0]))
        return _validate(data, self._source, overridden, problems)

    def to_dict(self) -> dict:
        """The resolved scenario as plain data (amounts as numbers), as written to ``scenario.yaml``."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"response_model"})

    @property
    def source(self) -> str:
        return self._source

    @property
    def notes(self) -> list[str]:
        """Defaults this scenario relies on that a planner should see (``notes.default_notes``)."""
        return default_notes(self)


_IMMUTABLE = (str, int, float, bool, type(None), bytes)


def copy_data(node):
    """A deep copy of loaded scenario data (``LocDict``/``LocList``, plain containers, scalar
    leaves), several times faster than ``copy.deepcopy``: a sweep copies its scenario per point."""
    if isinstance(node, _IMMUTABLE):
        return node
    if isinstance(node, dict):
        out = type(node)((k, copy_data(v)) for k, v in node.items())
    elif isinstance(node, list):
        out = type(node)(copy_data(v) for v in node)
    elif isinstance(node, tuple) and type(node) is tuple:
        return tuple(copy_data(v) for v in node)
    else:
        return copy.deepcopy(node)
    if getattr(node, "__dict__", None):  # where (a tuple) and lines (one entry per key or item)
        out.__dict__.update(node.__dict__)
        lines = node.__dict__.get("lines")
        if lines is not None:
            out.lines = copy.copy(lines)
    return out


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge and validate a scenario file; raise :class:`ScenarioError` with every problem."""
    path = Path(path)
    data = load_yaml(path, str(path))
    if not isinstance(data, LocDict):
        message = f"a scenario must be a mapping of sections such as `scenario:` and `budget:` (got {_what(data)})"
        raise ScenarioError([Problem(str(path), 1, "", message)])
    merged, problems = _merge_response_model(data, path.parent)
    return _validate(merged, str(path), problems=problems)


def _what(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, Mapping) else repr(value)


# --- response models ----------------------------------------------------------------------


def _merge_response_model(data: LocDict, base_dir: Path) -> tuple[LocDict, list[Problem]]:
    """Merge the ``response_model:`` file into the scenario; scenario entries win, cell by cell.

    Returns the merged data and the problems of the model file's own layout (its fields are
    validated with the scenario, and named by the model file's name and line).
    """
    ref = data.get("response_model")
    if ref is None:
        return data, []
    file, line = line_of(data, ("response_model",))
    if not isinstance(ref, str) or not ref.strip():
        raise ScenarioError([Problem(file, line, "response_model", f"must be a file path (got {ref!r})")])
    model_path = base_dir / ref
    mfile = os.path.normpath(model_path)
    model = _load_model_file(model_path, mfile, (file, line), ref)
    if not isinstance(model, LocDict):
        message = f"a response model must be a mapping with a `response:` list (got {_what(model)})"
        raise ScenarioError([Problem(mfile, 1, "", message)])
    problems = [
        Problem(*line_of(model, (key,)), str(key), f"unknown key `{key}` in a response model{did_you_mean(key, MODEL_FILE_KEYS)}")
        for key in model
        if key not in MODEL_FILE_KEYS
    ]
    if "response" not in model:
        problems.append(Problem(mfile, 1, "response", "required field is missing"))
    for key in ("response", "channels"):
        if key in model and not isinstance(model[key], LocList):
            problems.append(Problem(*line_of(model, (key,)), key, "must be a list"))
    if not isinstance(model.get("response"), LocList):
        raise ScenarioError(problems)

    merged = _copy_loc(data)
    del merged["response_model"]
    merged["response"] = _merge_lists(model["response"], data.get("response"), _cell_key)
    if isinstance(model.get("channels"), LocList):
        merged["channels"] = _merge_lists(model["channels"], data.get("channels"), lambda c: c.get("id"))
        merged.lines.setdefault("channels", model.lines["channels"])
    merged.lines.setdefault("response", (file, line))
    if "uncertainty" in model:  # docs/uncertainty.md: the scenario's own section wins, key by key
        own = data.get("uncertainty")
        both = isinstance(own, LocDict) and isinstance(model["uncertainty"], LocDict)
        merged["uncertainty"] = _deep_merge(model["uncertainty"], own) if both else own if own is not None else model["uncertainty"]
        merged.lines.setdefault("uncertainty", model.lines["uncertainty"])
    return merged, problems


def _load_model_file(path: Path, shown_as: str, field: tuple[str, int | None], ref: str) -> object:
    """The response-model file; one that cannot be read at all is a problem of the field naming it,
    with the path as written there (relative to the scenario file):
    ``plan.yaml:30 response_model: ../models/x.yaml: file not found``. Problems inside the file
    keep the file's own name and line."""
    try:
        return load_yaml(path, shown_as)
    except ScenarioError as exc:
        if any(p.line is not None or p.path for p in exc.problems):
            raise
        raise ScenarioError([Problem(*field, "response_model", f"{ref}: {p.message}") for p in exc.problems]) from None


def _cell_key(cell: object) -> object:
    return (cell.get("region"), cell.get("channel")) if isinstance(cell, dict) else id(cell)


def _merge_lists(base: LocList, override: object, key) -> LocList:
    """Items of ``override`` replace (deep-merge into) the item of ``base`` with the same key."""
    result = LocList(base)
    result.where, result.lines = base.where, list(base.lines)
    if not isinstance(override, LocList):
        return result
    index = {key(item): i for i, item in enumerate(result) if isinstance(item, dict)}
    for item, where in zip(override, override.lines):
        k = key(item) if isinstance(item, dict) else None
        if k in index and isinstance(item, LocDict):
            i = index[k]
            result[i], result.lines[i] = _deep_merge(result[i], item), where
        else:
            result.append(item)
            result.lines.append(where)
    return result


def _deep_merge(base: LocDict, over: LocDict) -> LocDict:
    merged = _copy_loc(base)
    merged.where = over.where
    for k, v in over.items():
        if k != "curve" and isinstance(v, LocDict) and isinstance(merged.get(k), LocDict):
            merged[k] = _deep_merge(merged[k], v)
        else:
            merged[k] = v
        merged.lines[k] = over.lines[k]
    return merged


def _copy_loc(d: LocDict) -> LocDict:
    out = LocDict(d)
    out.where, out.lines = d.where, dict(d.lines)
    return out


def _plain_to_loc(data: object, source: str) -> object:
    """Wrap plain dicts and lists so that overrides and merging treat them like loaded YAML."""
    if isinstance(data, Mapping):
        out = LocDict((k, _plain_to_loc(v, source)) for k, v in data.items())
        out.where, out.lines = (source, None), {k: (source, None) for k in data}
        return out
    if isinstance(data, (list, tuple)):
        out = LocList(_plain_to_loc(v, source) for v in data)
        out.where, out.lines = (source, None), [(source, None)] * len(data)
        return out
    return data


# --- overrides ----------------------------------------------------------------------------

_PART = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")
_ID_KEYS = {"response": None, "policies": "name"}


def parse_path(path: str) -> list[object]:
    """``regions[west].growth_floor`` -> ``['regions', ('west',), 'growth_floor']``."""
    parts: list[object] = []
    pos = 0
    while pos < len(path):
        if path[pos] == ".":
            pos += 1
        match = _PART.match(path, pos)
        if not match or match.end() == pos:
            raise KeyError(f"cannot read path {path!r}")
        name, item = match.groups()
        parts.append(name if name is not None else (item,))
        pos = match.end()
    if not parts or not isinstance(parts[0], str):
        raise KeyError(f"cannot read path {path!r}")
    return parts


def set_path(data: LocDict, path: str, value: object) -> tuple[object, ...]:
    """Set ``value`` at ``path`` inside loaded scenario data; return the location it changed."""
    parts = parse_path(path)
    node: object = data
    loc: list[object] = []
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if isinstance(part, tuple):
            if not isinstance(node, list):
                raise KeyError(f"{format_path(tuple(loc))} is not a list")
            index = _find_item(node, loc[-1] if loc else "", part[0])
            loc.append(index)
            if last:
                node[index] = _plain_to_loc(value, "--set")
            else:
                node = node[index]
            continue
        if not isinstance(node, dict):
            raise KeyError(f"{format_path(tuple(loc))} has no field {part!r}")
        loc.append(part)
        if last:
            node[part] = _plain_to_loc(value, "--set")
            if isinstance(node, LocDict):
                node.lines[part] = ("--set", None)
        else:
            if part not in node or node[part] is None:
                node[part] = _plain_to_loc({}, "--set")
                if isinstance(node, LocDict):
                    node.lines[part] = ("--set", None)
            node = node[part]
    return tuple(loc)


def _find_item(items: list, list_name: object, key: str) -> int:
    """The index of the item ``key`` names: by id (name, ``region/channel``), else by position."""
    id_field = _ID_KEYS.get(list_name, "id")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        if id_field is None and f"{item.get('region')}/{item.get('channel')}" == key:
            return i
        if id_field is not None and str(item.get(id_field)) == key:
            return i
    if re.fullmatch(r"-?\d+", key):
        index = int(key)
        if not -len(items) <= index < len(items):
            raise KeyError(f"{list_name} has no item {index} (it has {len(items)})")
        return index % len(items)
    if id_field is None:
        names = [f"{it.get('region')}/{it.get('channel')}" for it in items if isinstance(it, dict)]
    else:
        names = [str(it.get(id_field)) for it in items if isinstance(it, dict)]
    raise KeyError(f"no item {key!r} in {list_name}{did_you_mean(key, names)}")


# --- validation ---------------------------------------------------------------------------


def _validate(data: LocDict, source: str, overridden: Sequence[Override] = (), problems: Sequence[Problem] = ()) -> Scenario:
    """Field checks and cross-checks; raise with ``problems`` and every new one.

    When some fields fail, the cross-checks run on what parsed (``partial.py``), so a bad
    seasonality sum, an unknown region in a cell and an unknown temp-staff period come together.
    """
    problems = list(problems)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems += problems_from(exc.errors(), data, overridden)
        cross = cross_check(partial_scenario(data))  # on what parsed: every problem in one pass
        raise ScenarioError(problems + [locate(data, loc, msg, overridden) for loc, msg in cross]) from None
    problems += [locate(data, loc, msg, overridden) for loc, msg in cross_check(scenario)]
    too_big = size_problem(scenario) if not problems else None  # refused before anything is built
    if too_big is not None:
        problems.append(locate(data, *too_big, overridden))
    if problems:
        raise ScenarioError(problems)
    scenario._data = data
    scenario._source = source
    return scenario
