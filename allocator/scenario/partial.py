"""What of a scenario parsed, when some of it did not: so that cross-section checks run in the same pass.

The spec asks for every problem at once. Field checks (types, ranges, unknown keys) come from
pydantic; checks that relate sections (a cell's region exists, temp-staff periods exist...) need
parsed values. When the whole scenario does not validate, :func:`partial_scenario` validates it
piece by piece: each section alone, each item of a list alone, and, for a section or an item that
still fails, each of its fields alone. What parsed is kept; what did not is :data:`UNPARSED`, and a
cross-check that needs it does not run (its problem, if any, shows once the field is fixed).

>>> s = partial_scenario({"periods": {"names": ["Q1"], "seasonality": ["lots"]}, "regions": [{"id": 1, "potential": -1}]})
>>> s.periods.names, s.periods.seasonality is UNPARSED, s.regions[0].id, s.regions[0].potential is UNPARSED
(('Q1',), True, '1', True)
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from types import SimpleNamespace, UnionType

from pydantic import BaseModel, TypeAdapter, ValidationError

from allocator.scenario.schema import ScenarioModel


class _Unparsed:
    """A value that did not pass its field checks (or was required and left out)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNPARSED"


UNPARSED = _Unparsed()
_SKIP = frozenset({"decomposition"})  # its cross-checks run only on a field-valid scenario
_adapters: dict[object, TypeAdapter] = {}


def partial_scenario(data: object) -> SimpleNamespace:
    """The scenario's sections as far as they parse (see the module docstring)."""
    return _partial_model(ScenarioModel, data if isinstance(data, Mapping) else {}, skip=_SKIP)


def given(item: object, name: str) -> bool:
    """Whether the file gave field ``name`` of a (partly) parsed model, rather than its default."""
    return name in getattr(item, "model_fields_set", ())


def parsed(*values: object) -> bool:
    """Whether every value parsed (none is :data:`UNPARSED`)."""
    return all(v is not UNPARSED for v in values)


def _partial_model(model: type[BaseModel], raw: Mapping, skip: frozenset[str] = frozenset()) -> SimpleNamespace:
    """A model's fields, each validated alone; sub-models and tuples of them piece by piece."""
    values = {}
    for name, field in model.model_fields.items():
        if name in skip:
            values[name] = UNPARSED
            continue
        key = field.alias or name
        if key not in raw:
            values[name] = UNPARSED if field.is_required() else field.get_default(call_default_factory=True)
            continue
        values[name] = _partial_value(_annotated(field), raw[key])
    return SimpleNamespace(**values, model_fields_set={n for n, f in model.model_fields.items() if (f.alias or n) in raw})


def _partial_value(annotation: object, raw: object) -> object:
    try:
        return _adapter(annotation).validate_python(raw)
    except ValidationError:
        pass
    inner = _strip(annotation)
    submodel = _single_model(inner)
    if submodel is not None and isinstance(raw, Mapping):
        return _partial_model(submodel, raw)
    args = typing.get_args(inner)
    tuple_of_models = typing.get_origin(inner) is tuple and len(args) == 2 and args[1] is Ellipsis \
        and _single_model(_strip(args[0])) is not None
    if tuple_of_models and isinstance(raw, list):  # items one by one; a tuple of values is one value
        return tuple(_partial_value(args[0], item) for item in raw)
    return UNPARSED


def _annotated(field) -> object:
    return typing.Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation


def _adapter(annotation: object) -> TypeAdapter:
    key = repr(annotation)
    if key not in _adapters:
        _adapters[key] = TypeAdapter(annotation)
    return _adapters[key]


def _strip(annotation: object) -> object:
    """Without ``Annotated`` and without ``| None``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, UnionType) and len(args) == 1:
        return _strip(args[0])
    return annotation


def _single_model(annotation: object) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
