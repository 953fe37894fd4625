"""Safe YAML loading that remembers where every value came from.

Mappings load as :class:`LocDict` and sequences as :class:`LocList`: plain ``dict`` and ``list``
subclasses that also carry the file name and the line of each key or item, so a validation
error deep in a merged scenario can still name ``file:line``.

Only the YAML safe schema is accepted (``!!python/...`` tags are an error, never run); duplicate
keys are an error; a document whose aliases expand to more than ``MAX_NODES`` nodes (an "alias
bomb") is rejected before anything walks it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from allocator.scenario.errors import Problem, ScenarioError

MAX_NODES = 200_000
MAX_BYTES = 20_000_000


Where = tuple[str, int]  # (file, 1-based line)


class LocDict(dict):
    """A mapping loaded from YAML: ``.where`` for itself, ``.lines[key]`` for each key."""

    where: Where = ("", 0)
    lines: dict


class LocList(list):
    """A sequence loaded from YAML: ``.where`` for itself, ``.lines[i]`` for each item."""

    where: Where = ("", 0)
    lines: list


def _expanded_size(root: yaml.Node) -> int:
    """Number of nodes once every alias is expanded, computed without expanding them."""
    memo: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if key in on_path:  # a recursive alias: infinite once expanded
            return MAX_NODES + 1
        on_path.add(key)
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(v) for v in node.value)
        else:
            total = 1
        on_path.discard(key)
        memo[key] = min(total, MAX_NODES + 1)
        return memo[key]

    return size(root)


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str):
        self.loader = loader
        self.file = file
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: str) -> object:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path)
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            self.problems.append(Problem(self.file, node.start_mark.line + 1, path, problem))
            return None

    def _check_tag(self, node: yaml.Node, expected: str, path: str) -> None:
        if node.tag != expected:
            line = node.start_mark.line + 1
            self.problems.append(Problem(self.file, line, path, f"unsupported YAML tag {node.tag!r}"))

    def _mapping(self, node: yaml.MappingNode, path: str) -> LocDict:
        self._check_tag(node, "tag:yaml.org,2002:map", path)
        try:
            self.loader.flatten_mapping(node)
        except yaml.YAMLError as exc:
            self.problems.append(Problem(self.file, node.start_mark.line + 1, path, str(exc)))
        result = LocDict()
        result.where, result.lines = (self.file, node.start_mark.line + 1), {}
        for key_node, value_node in node.value:
            key = self.build(key_node, path)
            line = key_node.start_mark.line + 1
            if isinstance(key, (dict, list)) or key is None:
                self.problems.append(Problem(self.file, line, path, "keys must be plain names"))
                continue
            child = f"{path}.{key}" if path else str(key)
            if key in result:
                first = result.lines[key][1]
                self.problems.append(Problem(self.file, line, child, f"duplicate key (first on line {first})"))
                continue
            result[key] = self.build(value_node, child)
            result.lines[key] = (self.file, line)
        return result

    def _sequence(self, node: yaml.SequenceNode, path: str) -> LocList:
        self._check_tag(node, "tag:yaml.org,2002:seq", path)
        result = LocList(self.build(item, f"{path}[{i}]") for i, item in enumerate(node.value))
        result.where = (self.file, node.start_mark.line + 1)
        result.lines = [(self.file, item.start_mark.line + 1) for item in node.value]
        return result


def load_yaml(path: Path, display: str | None = None) -> object:
    """Load one YAML file safely, with locations; raise ScenarioError on any problem."""
    file = display or str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ScenarioError([Problem(file, None, "", f"file is larger than {MAX_BYTES} bytes")])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(file, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(file, None, "", f"cannot read file: {exc}")]) from None
    return load_yaml_text(text, file)


def load_yaml_text(text: str, file: str) -> object:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ScenarioError([Problem(file, line, "", f"YAML syntax error: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(file, None, "", f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    if node is None:
        raise ScenarioError([Problem(file, 1, "", "file is empty")])
    if _expanded_size(node) > MAX_NODES:
        raise ScenarioError(
            [Problem(file, node.start_mark.line + 1, "", f"more than {MAX_NODES} values once aliases are expanded; refusing to load")]
        )
    builder = _Builder(loader, file)
    data = builder.build(node, "")
    if builder.problems:
        raise ScenarioError(builder.problems)
    return data


def line_of(data: object, loc: tuple[object, ...]) -> tuple[str, int | None]:
    """File and line of the deepest located value on the path ``loc`` through ``data``."""
    file, line = getattr(data, "where", ("", None))
    node = data
    for part in loc:
        if isinstance(node, LocDict) and part in node:
            file, line = node.lines.get(part, (file, line))
        elif isinstance(node, LocList) and isinstance(part, int) and 0 <= part < len(node):
            file, line = node.lines[part]
        else:
            continue  # a pydantic union tag or a missing key: stay on the parent
        node = node[part]
    return file, line
