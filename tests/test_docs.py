"""The reference pages stay in step with the code: every schema field is documented, every
documented ``--set`` example works, and nothing links outside the repository."""

from __future__ import annotations

import re
import shlex
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from allocator.cli import parse_sets
from allocator.scenario import Scenario
from allocator.scenario.schema import ScenarioModel
from tests.test_validation import SPEC_EXAMPLE

ROOT = Path(__file__).resolve().parent.parent
FORMAT = ROOT / "docs" / "scenario-format.md"


def schema_paths(annotation: object = ScenarioModel, prefix: str = "", seen: set | None = None) -> list[str]:
    """Every field's dotted path (``response[].curve.max_lift``), walking each model once.
    The decomposition section has its own page (docs/decomposition.md)."""
    seen = set() if seen is None else seen
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return []
        seen.add(annotation)
        out = []
        for name, field in annotation.model_fields.items():
            path = f"{prefix}.{field.alias or name}" if prefix else field.alias or name
            out.append(path)
            if path != "decomposition":
                out += schema_paths(field.annotation, path, seen)
        return out
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (tuple, list) and args:
        return schema_paths(args[0], prefix + "[]", seen)
    return [p for arg in args for p in schema_paths(arg, prefix, seen)]


def test_the_walk_finds_fields_at_every_depth():
    paths = schema_paths()
    assert {"scenario", "budget.reserve.min", "response[].curve.half_saturation", "policies[].where.region_class",
            "sales_force.temp_staff.share_of_people_cost.max", "decomposition"} <= set(paths)


@pytest.mark.parametrize("path", sorted(set(schema_paths())))
def test_every_schema_field_is_on_the_format_page(path):
    assert f"`{path}`" in FORMAT.read_text(encoding="utf-8"), f"docs/scenario-format.md does not name `{path}`"


def documented_sets() -> list[str]:
    text = FORMAT.read_text(encoding="utf-8")
    block = text[text.index("## Changing a value"):text.index("## Validation")]
    sets = []
    for line in block.splitlines():
        if line.startswith("allocator run"):
            words = shlex.split(line)
            sets += [words[i + 1] for i, w in enumerate(words) if w == "--set"]
    return sets


def test_every_documented_set_path_applies_to_the_spec_example():
    sets = documented_sets()
    assert len(sets) >= 8
    base = Scenario.from_dict(yaml.safe_load(SPEC_EXAMPLE))
    changed = base.with_changes(parse_sets(sets))
    assert changed.budget.total == 35e6
    assert changed.response[0].curve.type == "exp"
    assert changed.sales_force.temp_staff.periods == ("Q3",)


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name)
def test_no_page_links_outside_the_repository(page):
    assert not re.search(r"\.\./shared|\(\.\./", page.read_text(encoding="utf-8")), f"{page.name} links outside the repository"


@pytest.mark.parametrize("module", ["allocator.scenario.partial", "allocator.scenario.size"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
