"""From YAML (or a dict) to a validated :class:`Scenario`, with every problem reported at once."""

from __future__ import annotations

import copy
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, PrivateAttr, ValidationError

from allocator.scenario.checks import cross_check, did_you_mean
from allocator.scenario.errors import Problem, ScenarioError, format_path
from allocator.scenario.schema import CURVE_TYPES, ScenarioModel
from allocator.scenario.yaml_io import LocDict, LocList, line_of, load_yaml, load_yaml_text

MODEL_FILE_KEYS = ("description", "response", "channels")


class Scenario(ScenarioModel):
    """A validated, frozen scenario. Build it with :func:`load_scenario` or :meth:`from_dict`."""

    _data: object = PrivateAttr(default=None)
    _source: str = PrivateAttr(default="<dict>")

    @classmethod
    def from_dict(cls, data: Mapping, *, source: str = "<dict>", base_dir: Path | str | None = None) -> "Scenario":
        """Validate a plain mapping exactly as a scenario file would be validated.

        >>> s = Scenario.from_dict(EXAMPLE)  # doctest: +SKIP
        """
        data = _merge_response_model(_plain_to_loc(data, source), Path(base_dir or "."))
        return _validate(data, source)

    def with_changes(self, changes: Mapping[str, object]) -> "Scenario":
        """A changed copy: ``scenario.with_changes({"budget.total": "35M"})``.

        Paths are dotted; list items are addressed by id (``regions[west].growth_floor``),
        response cells by ``region/channel`` (``response[east/online].spend.max``), policies by
        name, or any list by position (``periods.seasonality[0]``).
        """
        data = copy.deepcopy(self._data)
        overridden: list[tuple[tuple[object, ...], str]] = []
        problems = []
        for path, value in changes.items():
            try:
                loc = set_path(data, path, value)
                overridden.append((loc, path))
            except KeyError as exc:
                problems.append(Problem("--set", None, path, exc.args[0]))
        if problems:
            raise ScenarioError(problems)
        return _validate(data, self._source, overridden)

    def to_dict(self) -> dict:
        """The resolved scenario as plain data (amounts as numbers), as written to ``scenario.yaml``."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"response_model"})

    @property
    def source(self) -> str:
        return self._source


def load_scenario(path: str | Path) -> Scenario:
    """Load, merge and validate a scenario file; raise :class:`ScenarioError` with every problem."""
    path = Path(path)
    data = load_yaml(path, str(path))
    if not isinstance(data, LocDict):
        raise ScenarioError([Problem(str(path), 1, "", "a scenario must be a mapping of sections")])
    data = _merge_response_model(data, path.parent)
    return _validate(data, str(path))


# --- response models ----------------------------------------------------------------------


def _merge_response_model(data: LocDict, base_dir: Path) -> LocDict:
    """Merge the ``response_model:`` file into the scenario; scenario entries win, cell by cell."""
    ref = data.get("response_model")
    if ref is None:
        return data
    file, line = line_of(data, ("response_model",))
    if not isinstance(ref, str):
        raise ScenarioError([Problem(file, line, "response_model", "must be a file path")])
    model_path = base_dir / ref
    model = load_yaml(model_path, str(model_path))
    mfile = str(model_path)
    if not isinstance(model, LocDict):
        raise ScenarioError([Problem(mfile, 1, "", "a response model must be a mapping with a `response:` list")])
    problems = [
        Problem(*line_of(model, (key,)), str(key), f"unknown key{did_you_mean(key, MODEL_FILE_KEYS)}")
        for key in model
        if key not in MODEL_FILE_KEYS
    ]
    for key in ("response", "channels"):
        if key in model and not isinstance(model[key], LocList):
            problems.append(Problem(*line_of(model, (key,)), key, "must be a list"))
    if "response" not in model:
        problems.append(Problem(mfile, 1, "response", "required field is missing"))
    if problems:
        raise ScenarioError(problems)

    merged = _copy_loc(data)
    del merged["response_model"]
    merged["response"] = _merge_lists(model["response"], data.get("response"), _cell_key)
    if "channels" in model:
        merged["channels"] = _merge_lists(model["channels"], data.get("channels"), lambda c: c.get("id"))
    merged.lines.setdefault("response", (file, line))
    return merged


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
        out.where, out.lines = (source, 0), {k: (source, 0) for k in data}
        return out
    if isinstance(data, (list, tuple)):
        out = LocList(_plain_to_loc(v, source) for v in data)
        out.where, out.lines = (source, 0), [(source, 0)] * len(data)
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
                node.lines[part] = ("--set", 0)
        else:
            if part not in node or node[part] is None:
                node[part] = _plain_to_loc({}, "--set")
                if isinstance(node, LocDict):
                    node.lines[part] = ("--set", 0)
            node = node[part]
    return tuple(loc)


def _find_item(items: list, list_name: object, key: str) -> int:
    if re.fullmatch(r"-?\d+", key):
        index = int(key)
        if not -len(items) <= index < len(items):
            raise KeyError(f"{list_name} has no item {index} (it has {len(items)})")
        return index % len(items)
    id_field = _ID_KEYS.get(list_name, "id")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        if id_field is None and f"{item.get('region')}/{item.get('channel')}" == key:
            return i
        if id_field is not None and str(item.get(id_field)) == key:
            return i
    if id_field is None:
        names = [f"{it.get('region')}/{it.get('channel')}" for it in items if isinstance(it, dict)]
    else:
        names = [str(it.get(id_field)) for it in items if isinstance(it, dict)]
    raise KeyError(f"no item {key!r} in {list_name}{did_you_mean(key, names)}")


# --- validation and messages --------------------------------------------------------------


def _validate(data: LocDict, source: str, overridden=()) -> Scenario:
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError([_problem(data, err, overridden) for err in exc.errors()]) from None
    problems = [_located(data, loc, msg, overridden) for loc, msg in cross_check(scenario)]
    if problems:
        raise ScenarioError(problems)
    scenario._data = data
    scenario._source = source
    return scenario


def _located(data: object, loc: tuple[object, ...], message: str, overridden=()) -> Problem:
    data_loc = _data_loc(data, loc)
    for over_loc, over_path in overridden:
        if data_loc[: len(over_loc)] == over_loc:
            return Problem("--set", None, over_path, message)
    file, line = line_of(data, loc)
    return Problem(file, line, format_path(data_loc), message)


def _data_loc(data: object, loc: tuple[object, ...]) -> tuple[object, ...]:
    """Drop the parts of a pydantic location that are not in the data (union tags)."""
    out: list[object] = []
    node = data
    for n, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif n < len(loc) - 1:
            continue
        out.append(part)
    return tuple(out)


def _problem(data: object, err: dict, overridden) -> Problem:
    kind, loc, value = err["type"], tuple(err["loc"]), err.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        message = f"unknown key `{loc[-1]}`{did_you_mean(loc[-1], allowed)}"
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "union_tag_invalid":
        message = f"unknown curve type {err['ctx']['tag']!r}{did_you_mean(err['ctx']['tag'], CURVE_TYPES)}"
        message += "" if "did you mean" in message else f" (one of {', '.join(CURVE_TYPES)})"
    elif kind == "union_tag_not_found":
        message = f"needs `type:` (one of {', '.join(CURVE_TYPES)})"
    elif kind == "allocator":
        message = err["msg"]
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        bound = next(iter(err["ctx"].values()))
        message = f"must be {op} {bound} (got {value!r})"
    elif kind in ("too_short", "too_long"):
        message = err["msg"].replace("Tuple", "list").replace("List", "list").lower()
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        message = f"must be a mapping of keys (got {_kind(value)})"
    elif kind in ("tuple_type", "list_type"):
        message = f"must be a list (got {_kind(value)})"
    else:
        text = err["msg"]
        message = text[0].lower() + text[1:] + (f" (got {value!r})" if not isinstance(value, (dict, list)) else "")
    return _located(data, loc, message, overridden)


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _allowed_keys(loc: tuple[object, ...]) -> list[str]:
    """The keys a scenario allows at ``loc`` (a pydantic location), for "did you mean"."""
    annotation: object = ScenarioModel
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    model = _model_of(annotation, None)
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _step(annotation: object, part: object) -> object:
    model = _model_of(annotation, part)
    if model is not None:
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return model if isinstance(part, str) and part in CURVE_TYPES else None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (list, tuple) and args:
        return args[0]
    if origin is dict and args:
        return args[1]
    if origin is typing.Annotated:
        return _step(args[0], part)
    return None


def _model_of(annotation: object, tag: object) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (unwrapping Optional, Annotated and unions)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _model_of(args[0], tag)
    if origin in (typing.Union, types.UnionType):
        models = [m for m in (_model_of(a, tag) for a in args) if m is not None]
        for m in models:
            type_field = m.model_fields.get("type")
            if type_field is not None and typing.get_args(type_field.annotation) == (tag,):
                return m
        return models[0] if len(models) == 1 else None
    return None
