"""Problems found in a scenario, reported all at once as ``file:line path: message``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(Exception):
    """Invalid input: carries every problem found, in file order."""

    def __init__(self, problems: list[Problem]):
        unique = list(dict.fromkeys(problems))  # an aliased value may be reported once per use
        self.problems = sorted(unique, key=lambda p: (p.file, p.line or 0, p.path))
        super().__init__("\n".join(str(p) for p in self.problems))


def shown(value: object, limit: int = 60) -> str:
    """A value as messages quote it: its repr, cut short if it is long (a 400-digit number...)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_path(loc: tuple[object, ...]) -> str:
    """``('response', 3, 'curve', 'shape')`` -> ``response[3].curve.shape``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
