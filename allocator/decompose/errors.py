"""Errors of the decomposition inputs, named ``file:line path: message`` like the scenario's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from allocator.decompose.config import DecompositionConfig, Loc
from allocator.scenario.errors import Problem, ScenarioError, format_path
from allocator.scenario.messages import locate, problems_from
from allocator.scenario.types import Strict
from allocator.scenario.yaml_io import LocDict, load_yaml


class DecompositionError(ScenarioError):
    """Invalid decomposition input: the section, a CSV, actuals, or a target reps cannot carry.

    A :class:`ScenarioError`, so everything that reports scenario problems (exit status 2,
    ``file:line path: message``) reports these too.
    """


@dataclass(frozen=True)
class ConfigSource:
    """Where a ``decomposition:`` section was read, so later checks can name its file and line."""

    data: object | None = None  # the loaded YAML holding the section (LocDict), if any
    file: str = "<config>"
    prefix: Loc = ("decomposition",)

    def problem(self, loc: Loc, message: str) -> Problem:
        full = self.prefix + tuple(loc)
        if isinstance(self.data, LocDict):
            return locate(self.data, full, message)
        return Problem(self.file, None, format_path(full), message)


def source_of(scenario) -> ConfigSource:
    """The source of a loaded scenario's section (its file and lines when it came from YAML)."""
    return ConfigSource(getattr(scenario, "_data", None), getattr(scenario, "source", "<scenario>"))


class _ConfigFile(Strict):
    decomposition: DecompositionConfig


def load_config(path: Path) -> tuple[DecompositionConfig, ConfigSource]:
    """The ``decomposition:`` section of a YAML file (a scenario file works: other keys are ignored)."""
    file = str(path)
    data = load_yaml(path, file)
    if not isinstance(data, LocDict) or "decomposition" not in data:
        message = "needs a `decomposition:` section (as in a scenario file)"
        line = data.where[1] if isinstance(data, LocDict) else 1
        raise DecompositionError([Problem(file, line, "decomposition", message)])
    try:
        wrapped = _ConfigFile.model_validate({"decomposition": data["decomposition"]})
    except ValidationError as exc:
        raise DecompositionError(problems_from(exc.errors(), data)) from None
    return wrapped.decomposition, ConfigSource(data, file)
