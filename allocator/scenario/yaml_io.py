"""Safe YAML loading that remembers where every value came from.

Mappings load as :class:`LocDict` and sequences as :class:`LocList`: plain ``dict`` and ``list``
subclasses that also carry the file name and the line of each key or item, so a validation
error deep in a merged scenario can still name ``file:line``.

What a file may hold, and what it may not:

- Only plain values, lists and mappings: any other tag (``!!python/...``, ``!!set``, ``!foo``)
  is an error naming its line, and is never constructed, let alone run.
- Scalars resolve the YAML 1.2 way: ``true``/``false`` are the only booleans (``no``, ``on``
  and ``NO`` stay text, so a region may be called ``no``), integers are decimal (``010`` and
  ``1:30`` stay text instead of becoming 8 and 90), and dates stay text. ``3e7`` stays text
  as in YAML 1.1; amounts read it anyway.
- Duplicate keys are an error naming both lines; a key from a ``<<`` merge may be overridden.
- Nesting deeper than ``MAX_DEPTH`` and documents whose aliases expand to more than
  ``MAX_NODES`` values (an "alias bomb") are rejected before anything walks them.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

import yaml

from allocator.scenario.errors import Problem, ScenarioError, shown

MAX_NODES = 200_000
MAX_DEPTH = 50
MAX_BYTES = 20_000_000

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALAR_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null")}
_MAP_TAG, _SEQ_TAG, _MERGE_TAG = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:merge"


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader with YAML-1.2-like implicit scalars (see the module docstring)."""


def _plain_resolvers() -> dict:
    keep = {"tag:yaml.org,2002:float", "tag:yaml.org,2002:null", _MERGE_TAG}
    resolvers: dict = {}
    for first, pairs in yaml.SafeLoader.yaml_implicit_resolvers.items():
        resolvers[first] = [(tag, regexp) for tag, regexp in pairs if tag in keep]
    extra = [
        ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
        ("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*(?:_[0-9]+)*)$"), "-+0123456789"),
    ]
    for tag, regexp, firsts in extra:
        for first in firsts:
            resolvers.setdefault(first, []).insert(0, (tag, regexp))
    return {first: pairs for first, pairs in resolvers.items() if pairs}


_Loader.yaml_implicit_resolvers = _plain_resolvers()


Where = tuple[str, int | None]  # (file, 1-based line; None for values not from a file)


class LocDict(dict):
    """A mapping loaded from YAML: ``.where`` for itself, ``.lines[key]`` for each key."""

    where: Where = ("", 0)
    lines: dict


class LocList(list):
    """A sequence loaded from YAML: ``.where`` for itself, ``.lines[i]`` for each item."""

    where: Where = ("", 0)
    lines: list


def short_tag(tag: str) -> str:
    """``tag:yaml.org,2002:python/name:os.system`` -> ``!!python/name:os.system``."""
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


class _TooBig(Exception):
    def __init__(self, node: yaml.Node, message: str):
        self.node, self.message = node, message


def _check_size(root: yaml.Node) -> None:
    """Raise :class:`_TooBig` if the document, aliases expanded, is too large or too deep.

    Sizes and heights are memoised per node, so this never expands an alias; the recursion stops
    at ``MAX_DEPTH``, so it cannot overflow the stack either.
    """
    memo: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height)

    def measure(node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key not in memo:
            if depth > MAX_DEPTH:
                raise _TooBig(node, f"values are nested more than {MAX_DEPTH} levels deep")
            memo[key] = (MAX_NODES + 1, MAX_DEPTH + 1)  # provisional: a recursive alias is infinite
            if isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            else:
                children = []
            measured = [measure(child, depth + 1) for child in children]
            size = 1 + sum(s for s, _ in measured)
            height = 1 + max((h for _, h in measured), default=0)
            memo[key] = (min(size, MAX_NODES + 1), min(height, MAX_DEPTH + 1))
        size, height = memo[key]
        if size > MAX_NODES:
            raise _TooBig(node, f"more than {MAX_NODES} values once aliases are expanded (an alias bomb?)")
        if depth + height > MAX_DEPTH + 1:
            raise _TooBig(node, f"values are nested more than {MAX_DEPTH} levels deep once aliases are expanded")
        return size, height

    measure(root, 1)


def _check_depth(text: str) -> int | None:
    """The line where nesting first passes ``MAX_DEPTH`` (before composing, which recurses)."""
    depth = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return event.start_mark.line + 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _tab_indent_line(text: str) -> int | None:
    """The first line indented with a tab before a token, if any.

    YAML allows only spaces as indentation. PyYAML's Python scanner refuses a tab there, but the C
    scanner lets it through inside a flow mapping (``{region: east,`` then a tab-indented
    ``channel: online}``), so a file would load in one install and fail in another. A tab inside a
    block scalar's text, inside a quoted string or in a comment is not indentation and passes.
    """
    if "\t" not in text:
        return None
    candidates: dict[int, int] = {}  # 0-based line -> column where its content starts
    for n, line in enumerate(text.splitlines()):
        content = line.lstrip(" \t")
        indent = line[: len(line) - len(content)]
        if "\t" in indent and content and not content.startswith("#"):
            candidates[n] = len(indent)
    if not candidates:
        return None
    try:
        for token in yaml.scan(text, Loader=_BaseLoader):
            if candidates.get(token.start_mark.line) == token.start_mark.column:
                return token.start_mark.line + 1
    except yaml.YAMLError:
        return None  # a syntax error: the parse below reports it
    return None


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str):
        self.loader = loader
        self.file = file
        self.problems: list[Problem] = []

    def _problem(self, node: yaml.Node, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, node.start_mark.line + 1, path, message))

    def build(self, node: yaml.Node, path: str) -> object:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path)
        if node.tag not in _SCALAR_TAGS:
            return self._unsupported(node, path)
        try:
            return self.loader.construct_object(node, deep=True)
        except Exception:  # e.g. `!!int abc`: PyYAML raises ValueError or KeyError, not YAMLError
            self._problem(node, path, f"cannot read {shown(node.value)} as {short_tag(node.tag)}")
            return None

    def _unsupported(self, node: yaml.Node, path: str) -> None:
        tag = short_tag(node.tag)
        self._problem(node, path, f"unsupported YAML tag `{tag}`; only plain values, lists and mappings are allowed")

    def _mapping(self, node: yaml.MappingNode, path: str) -> LocDict | None:
        if node.tag != _MAP_TAG:
            return self._unsupported(node, path)
        own = len([k for k, _ in node.value if k.tag != _MERGE_TAG])
        try:
            self.loader.flatten_mapping(node)  # merged pairs first, then the mapping's own
        except yaml.YAMLError as exc:
            self._problem(node, path, getattr(exc, "problem", None) or str(exc))
            return None
        first_own = len(node.value) - own
        result = LocDict()
        result.where, result.lines = (self.file, node.start_mark.line + 1), {}
        from_merge: set[object] = set()
        for n, (key_node, value_node) in enumerate(node.value):
            key = self.build(key_node, path)
            line = key_node.start_mark.line + 1
            if isinstance(key, (dict, list)) or key is None:
                self.problems.append(Problem(self.file, line, path, "keys must be plain names"))
                continue
            child = f"{path}.{key}" if path else str(key)
            if key in result and n >= first_own and key not in from_merge:
                first = result.lines[key][1]
                self.problems.append(Problem(self.file, line, child, f"duplicate key (first on line {first})"))
                continue
            if n < first_own:
                from_merge.add(key)  # a later merge source or the mapping's own key may override it
            else:
                from_merge.discard(key)
            result[key] = self.build(value_node, child)
            result.lines[key] = (self.file, line)
        return result

    def _sequence(self, node: yaml.SequenceNode, path: str) -> LocList | None:
        if node.tag != _SEQ_TAG:
            return self._unsupported(node, path)
        result = LocList(self.build(item, f"{path}[{i}]") for i, item in enumerate(node.value))
        result.where = (self.file, node.start_mark.line + 1)
        result.lines = [(self.file, item.start_mark.line + 1) for item in node.value]
        return result


class NotRegularFile(OSError):
    """A path that is a FIFO, a device, a socket...: reading it could block or never end."""


class FileTooLarge(OSError):
    """A file over the size limit of its kind (found without reading past the limit)."""


def _file_type(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; never blocks, never reads past the limit.

    The file is opened without blocking (a FIFO with no writer does not hang the open) and checked
    on the open descriptor, so what is read is what was checked: a FIFO, a device (``/dev/zero``)
    or a socket raises :class:`NotRegularFile`; more than ``max_bytes`` (by size, or by reading
    ``max_bytes + 1`` of a file that grows) raises :class:`FileTooLarge`.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd)
        if stat.S_ISDIR(mode.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(mode.st_mode):
            raise NotRegularFile(errno.EINVAL, _file_type(mode.st_mode), str(path))
        if mode.st_size > max_bytes:
            raise FileTooLarge(errno.EFBIG, f"file is larger than {max_bytes} bytes", str(path))
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise FileTooLarge(errno.EFBIG, f"file is larger than {max_bytes} bytes", str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_user_text(path: Path, file: str, encoding: str = "utf-8", kind: str = "UTF-8",
                   max_bytes: int = MAX_BYTES, field: str = "") -> str:
    """A planner's text file, or ScenarioError naming it (missing, a folder, a FIFO or device,
    too large, not UTF-8). ``field`` is the setting that named the file (e.g. ``response_model``)."""

    def problem(message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError([Problem(file, line, field, message)])

    try:
        text = read_bounded(Path(path), max_bytes).decode(encoding)
        return text.replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as open() reads
    except FileNotFoundError:
        raise problem("file not found") from None
    except IsADirectoryError:
        raise problem("is a folder, not a file") from None
    except NotRegularFile as exc:
        raise problem(f"is {exc.strerror}, not a regular file; refusing to read it") from None
    except FileTooLarge:
        raise problem(f"file is larger than {max_bytes} bytes") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise problem(f"is not UTF-8 text; save it as {kind}", line) from None
    except OSError as exc:
        raise problem(f"cannot read file: {exc.strerror or exc}") from None


def load_yaml(path: Path, display: str | None = None, field: str = "") -> object:
    """Load one YAML file safely, with locations; raise ScenarioError on any problem.

    ``field`` names the setting that pointed at the file, in problems about reading it."""
    file = display or str(path)
    text = read_user_text(path, file, field=field)
    return load_yaml_text(text, file)


def _syntax_problem(exc: yaml.YAMLError, file: str) -> Problem:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem(file, None, "", f"YAML error: {exc}")
    mark = exc.problem_mark or exc.context_mark
    message = f"YAML syntax error: {exc.problem or exc.context}"
    if exc.context and exc.problem and exc.context_mark is not None:
        message += f" ({exc.context} on line {exc.context_mark.line + 1})"
    return Problem(file, mark.line + 1 if mark else None, "", message)


def load_yaml_text(text: str, file: str) -> object:
    """Load YAML text (named ``file`` in messages) safely, with locations."""
    loader = _Loader(text)
    try:
        deep_line = _check_depth(text)
        if deep_line is not None:
            problem = Problem(file, deep_line, "", f"values are nested more than {MAX_DEPTH} levels deep")
            raise ScenarioError([problem])
        tab_line = _tab_indent_line(text)
        if tab_line is not None:
            message = "a tab is used for indentation; YAML allows only spaces there (replace the tab with spaces)"
            raise ScenarioError([Problem(file, tab_line, "", message)])
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise ScenarioError([_syntax_problem(exc, file)]) from None
    finally:
        loader.dispose()
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null") and not node.value):
        raise ScenarioError([Problem(file, 1, "", "file is empty")])
    try:
        _check_size(node)
    except _TooBig as exc:
        raise ScenarioError([Problem(file, exc.node.start_mark.line + 1, "", f"{exc.message}; refusing to load")]) from None
    builder = _Builder(loader, file)
    data = builder.build(node, "")
    if builder.problems:
        raise ScenarioError(builder.problems)
    return data


def read_value(text: str, file: str = "--set") -> object:
    """One value written inline (``35M``, ``[Q2, Q3]``, ``{min: 0}``) read as a scenario file reads it.

    Meant for ``--set PATH=VALUE``: text that is not a plain YAML value (a syntax error, a tag)
    comes back as it was, a string, for the field's own check to judge.

    >>> read_value("no"), read_value("[1, 2027-01-01]"), read_value("[1,")
    ('no', [1, '2027-01-01'], '[1,')
    """
    if not text.strip():
        return ""
    try:
        data = load_yaml_text(f"value: {text}\n", file)
    except ScenarioError:
        return text
    return _plain(data["value"]) if isinstance(data, dict) and len(data) == 1 else text


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


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
            break  # a missing key: stay on the parent
        node = node[part]
    return file, line
