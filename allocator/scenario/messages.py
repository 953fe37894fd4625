"""Pydantic validation errors turned into planner-facing :class:`Problem` s.

A pydantic error location (``('response', 3, 'curve', 'hill', 'shape')``) is walked alongside
the schema and the loaded data, which gives three things: the location *in the data*
(``response[3].curve.shape``: the union tag ``hill`` is not a key of the file), the schema type
there (for "did you mean" and for the allowed values of a choice), and whether the error came
from a branch of a union that does not match the value's kind (an ``int | dict`` field given a
mapping need not be told that it is not an integer).
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import UnionType

from pydantic import BaseModel

from allocator.scenario.checks import closest, did_you_mean
from allocator.scenario.errors import Problem, format_path, shown
from allocator.scenario.schema import CURVE_TYPES, ScenarioModel
from allocator.scenario.yaml_io import line_of

Loc = tuple[object, ...]
Override = tuple[Loc, str]  # (location in the data, the path as the user wrote it)
_MISSING = object()


@dataclass(frozen=True)
class Resolved:
    data_loc: Loc  # where the error is in the data (union tags and key markers dropped)
    annotation: object  # the schema type there, or None if unknown (e.g. an unknown key)
    off_branch: bool  # from a union member that does not fit the kind of value given
    union_loc: Loc | None  # the data location of that union, if the error went through one


def _members(annotation: object) -> tuple[list[object], bool]:
    """The non-None members of a union (after unwrapping ``Annotated``), and whether it is tagged."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) not in (typing.Union, UnionType):
        return [annotation], False
    members = [_members(a)[0][0] for a in typing.get_args(annotation) if a is not type(None)]
    tagged = len(members) > 1 and all(_model(m) is not None and "type" in _model(m).model_fields for m in members)
    return members, tagged


def _model(annotation: object) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _kind_of(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    if _model(annotation) is not None or annotation is dict or origin is dict:
        return "mapping"
    if origin in (list, tuple) or annotation in (list, tuple):
        return "list"
    return "scalar"


def _kind_of_value(value: object) -> str:
    if isinstance(value, dict):
        return "mapping"
    return "list" if isinstance(value, list) else "scalar"


def _child(annotation: object, part: object) -> object:
    """The schema type one step below ``annotation`` (a field, an item, a mapping value)."""
    model = _model(annotation)
    if model is not None:
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        return args[part] if isinstance(part, int) and 0 <= part < len(args) else None
    if origin is list and args:
        return args[0]
    if origin is dict and args:
        return args[1]
    return None


def _label_kind(label: str, members: list[object]) -> str:
    """The kind of value a pydantic union-member label takes: ``constrained-int`` a scalar,
    ``dict[...]`` or ``function-after[FrozenDict(), dict[...]]`` a mapping, a model's name a mapping."""
    if "dict[" in label or any(_model(m) is not None and _model(m).__name__ == label for m in members):
        return "mapping"
    return "list" if "list[" in label or "tuple[" in label else "scalar"


def resolve(loc: Sequence[object], data: object, root: object = ScenarioModel) -> Resolved:
    """Walk a pydantic location through the schema (from ``root``) and the data together."""
    annotation, node = root, data
    out: list[object] = []
    off_branch, union_loc = False, None
    for part in loc:
        members, tagged = _members(annotation)
        if len(members) > 1:  # this part names a union member, not a key of the data
            if tagged:
                chosen = [m for m in members if typing.get_args(_model(m).model_fields["type"].annotation) == (part,)]
                annotation = chosen[0] if chosen else None
            else:
                kind = _label_kind(str(part), members)
                chosen = [m for m in members if _kind_of(m) == kind]
                annotation = chosen[0] if chosen else None
                union_loc = tuple(out)
                off_branch = off_branch or (node is not _MISSING and _kind_of_value(node) != kind)
            continue
        annotation = members[0]
        if part == "[key]":  # pydantic's marker for an invalid mapping key
            continue
        annotation = _child(annotation, part)
        out.append(part)
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = _MISSING
    return Resolved(tuple(out), annotation, off_branch, union_loc)


def allowed_keys(annotation: object) -> list[str]:
    """The keys a mapping of this schema type may hold."""
    members, _ = _members(annotation)
    model = _model(members[0]) if len(members) == 1 else None
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _all_keys(annotation: object, prefix: str = "", depth: int = 0) -> Iterable[tuple[str, str]]:
    """Every (key, dotted path of its section) in the schema below ``annotation``."""
    if depth > 4:
        return
    members, _ = _members(annotation)
    for member in members:
        origin = typing.get_origin(member)
        if origin in (tuple, list):
            yield from _all_keys(typing.get_args(member)[0], f"{prefix}[]", depth + 1)
            continue
        model = _model(member)
        if model is None:
            continue
        for name, field in model.model_fields.items():
            key = field.alias or name
            yield key, prefix
            yield from _all_keys(field.annotation, f"{prefix}.{key}" if prefix else key, depth + 1)


def unknown_key_message(key: object, parent: object) -> str:
    """``unknown key `x`; did you mean `y`?`` with ``y`` a key of the same section only; when none
    is close, the key exactly as written elsewhere ("it belongs in"), else the section's valid keys."""
    allowed = allowed_keys(parent)
    here = did_you_mean(key, allowed)
    if here:
        return f"unknown key `{key}`{here}"
    elsewhere = {f"{section}.{name}" if section else name: name for name, section in _all_keys(ScenarioModel)}
    exact = [path for path, name in elsewhere.items() if name == key]
    if exact:
        return f"unknown key `{key}` here; it belongs in `{exact[0]}`"
    if allowed:
        return f"unknown key `{key}` (valid keys here: {', '.join(f'`{k}`' for k in allowed)})"
    return f"unknown key `{key}`"


_TYPE_MESSAGES = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
}


def _choices(annotation: object) -> tuple[object, ...]:
    members, _ = _members(annotation)
    return typing.get_args(members[0]) if typing.get_origin(members[0]) is typing.Literal else ()


def message_for(err: dict, resolved: Resolved) -> str:
    """The planner-facing message for one pydantic error."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    got = f" (got {_shown(value)})"
    if kind == "extra_forbidden":
        parent = resolve(err["loc"][:-1], None).annotation
        return unknown_key_message(err["loc"][-1], parent)
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":  # reported at `curve.type` (see _at_the_tag)
        tag = value.get("type") if isinstance(value, dict) else ctx["tag"]
        if not isinstance(tag, str):
            one = tag[0] if isinstance(tag, list) and len(tag) == 1 and tag[0] in CURVE_TYPES else None
            hint = f"; write it without brackets: `type: {one}`" if one else ""
            return f"must be one of {', '.join(CURVE_TYPES)} (got {_shown(tag)}){hint}"
        hint = did_you_mean(tag, CURVE_TYPES) or f" (one of {', '.join(CURVE_TYPES)})"
        return f"unknown curve type {shown(tag)}{hint}"
    if kind == "union_tag_not_found":
        return f"required field is missing (one of {', '.join(CURVE_TYPES)})"
    if kind == "allocator":
        return err["msg"]
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        return f"must be {op} {next(iter(ctx.values()))}{got}"
    if kind == "too_short":
        return f"needs at least {ctx['min_length']} item(s) (got {ctx['actual_length']})"
    if kind == "too_long":
        return f"takes at most {ctx['max_length']} {'characters' if isinstance(value, str) else 'item(s)'} (got {ctx['actual_length']})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping of keys{got}"
    if kind in ("tuple_type", "list_type"):
        return f"must be a list{got}"
    if kind == "literal_error":
        choices = [str(c) for c in _choices(resolved.annotation)]
        if choices:
            hint = did_you_mean(value, choices) if isinstance(value, str) else ""
            return f"must be one of {', '.join(choices)}{got}{hint}"
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind] + got
    text = err["msg"]
    return text[0].lower() + text[1:] + ("" if isinstance(value, (dict, list)) else got)


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return shown(value)


def _spurious_length(err: dict) -> bool:
    """``too_short`` "after validation": the list was long enough, some items were invalid."""
    value, ctx = err.get("input"), err.get("ctx") or {}
    return err["type"] == "too_short" and isinstance(value, (list, tuple)) and len(value) >= ctx.get("min_length", 0)


def problems_from(errors: list[dict], data: object, overridden: Sequence[Override] = ()) -> list[Problem]:
    """Every pydantic error as a located :class:`Problem`, without union noise or duplicates."""
    resolved = [(err, resolve(err["loc"], data)) for err in errors if not _spurious_length(err)]
    explained = _explained_by_typos(resolved)
    on_branch = {r.union_loc for _, r in resolved if r.union_loc is not None and not r.off_branch}
    problems: list[Problem] = []
    seen_unions: set[Loc] = set()
    for err, r in resolved:
        if err["type"] == "missing" and r.data_loc in explained:
            continue  # "unknown key `totl`; did you mean `total`?" already says it
        if r.off_branch:
            if r.union_loc in on_branch or r.union_loc in seen_unions:
                continue  # another member of the union fits the value; its errors say more
            seen_unions.add(r.union_loc)
            r = Resolved(r.union_loc, None, True, r.union_loc)
        data_loc = r.data_loc + tuple((err.get("ctx") or {}).get("at", ())) + _at_the_tag(err)
        problems.append(locate(data, data_loc, message_for(err, r), overridden))
    return problems


def _at_the_tag(err: dict) -> Loc:
    """A curve whose ``type`` is missing, unknown or not text is wrong at ``curve.type``, not at ``curve``."""
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return (str((err.get("ctx") or {}).get("discriminator", "'type'")).strip("'"),)
    return ()


def _explained_by_typos(resolved: list[tuple[dict, Resolved]]) -> set[Loc]:
    """Locations of missing fields that an unknown key beside them is a misspelling of."""
    explained: set[Loc] = set()
    for err, _ in resolved:
        if err["type"] == "extra_forbidden":
            parent = resolve(err["loc"][:-1], None)
            close = closest(err["loc"][-1], allowed_keys(parent.annotation))
            if close is not None:
                explained.add(parent.data_loc + (close,))
    return explained


def locate(data: object, data_loc: Loc, message: str, overridden: Sequence[Override] = ()) -> Problem:
    """A problem at ``data_loc``: in the file (with its line) or, if an override made it, on ``--set``."""
    for over_loc, over_path in overridden:
        if data_loc[: len(over_loc)] == over_loc:  # inside what the override set
            below = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in data_loc[len(over_loc):])
            return Problem("--set", None, over_path + below, message)
        if data_loc and over_loc[: len(data_loc)] == data_loc:  # the override changed part of this value
            return Problem("--set", None, over_path, f"{format_path(data_loc)}: {message}")
    file, line = line_of(data, data_loc)
    return Problem(file, line, format_path(data_loc), message)
