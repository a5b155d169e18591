"""The one YAML reader of flopgrid (scenarios, claims ledgers): data with the line of every key, and
errors for unreadable, malformed, duplicated or hostile input that name the file and the line.

Hostile input is refused while the text is composed, before any of it is built into Python objects: the
nesting depth, the number of aliases, the size of the document with every alias expanded (a "billion
laughs" file is small but expands to millions of nodes), the length of a scalar and of a number, and
strings that cannot be written out again (lone surrogates, from escapes such as ``"\\ud800"``). The
same caps apply to a scenario given as a mapping (:func:`check_data`), e.g. by the web app.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from flopgrid.errors import ScenarioError

#: Largest YAML file read, in bytes; the shipped scenarios are under 10 kB.
MAX_YAML_BYTES = 1_000_000
#: Deepest nesting of mappings and lists; a scenario needs 6 levels.
MAX_DEPTH = 50
#: Most aliases (``*name``) in one document.
MAX_ALIASES = 100
#: Most values (scalars, mappings and lists) in a document once every alias is expanded.
MAX_NODES = 100_000
#: Longest string value, in characters.
MAX_SCALAR_CHARS = 10_000
#: Longest integer, in digits (Python refuses to print integers above 4,300 digits).
MAX_DIGITS = 100

_SURROGATE = re.compile("[\ud800-\udfff]")


def scalar_problem(value: str, tag: str = "") -> str | None:
    r"""What makes a string value unacceptable (too long, too many digits, a lone surrogate), or None.

    >>> scalar_problem("5 GW") is None
    True
    >>> scalar_problem("\ud800")
    'a lone surrogate (\\ud800) is not text; remove the escape'
    """
    if len(value) > MAX_SCALAR_CHARS:
        return f"a value of {len(value):,} characters; at most {MAX_SCALAR_CHARS:,} are read"
    if tag.endswith(":int") and len(value) > MAX_DIGITS:
        return f"a number of {len(value):,} digits; at most {MAX_DIGITS} are read"
    surrogate = _SURROGATE.search(value)
    if surrogate:
        return f"a lone surrogate (\\u{ord(surrogate.group()):04x}) is not text; remove the escape"
    return None


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line of every mapping key and refuses hostile documents."""

    depth = 0
    aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # Checked as each node is composed, so a deep or alias-heavy text stops at the first excess.
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        line = mark.line + 1 if mark else None
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise ScenarioError(f"more than {MAX_ALIASES} YAML aliases (*name)", line=line)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ScenarioError(f"mappings and lists nested deeper than {MAX_DEPTH} levels", line=line)
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if isinstance(node, yaml.ScalarNode):
            problem = scalar_problem(str(node.value), node.tag)
            if problem:
                raise ScenarioError(problem, line=line)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:
            # PyYAML's own constructors raise these, e.g. for a date such as 2024-13-45.
            raise ScenarioError(f"cannot read the value ({exc})", line=node.start_mark.line + 1) from None


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable) or isinstance(key, tuple):
            raise ScenarioError(
                "a key must be a name or a number, not a list or a mapping", line=key_node.start_mark.line + 1
            )
        if key in mapping:
            raise ScenarioError(f"key {key!r} appears twice", line=key_node.start_mark.line + 1)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _expanded_size(node: yaml.Node) -> int:
    """Values in the document under ``node`` with every alias expanded; refuses cycles and excess.

    Aliases share nodes, so each node is sized once (memoised): the cost is the composed size."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()

    def size(current: yaml.Node) -> int:
        key = id(current)
        if key in sizes:
            return sizes[key]
        if key in open_:
            raise ScenarioError(
                "a YAML alias refers to a mapping or list that contains it",
                line=current.start_mark.line + 1,
            )
        open_.add(key)
        children: list[yaml.Node] = []
        if isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        total = 1 + sum(size(child) for child in children)
        if total > MAX_NODES:
            raise ScenarioError(
                f"the YAML expands to more than {MAX_NODES:,} values (aliases repeat what they name)",
                line=current.start_mark.line + 1,
            )
        open_.discard(key)
        sizes[key] = total
        return total

    return size(node)


def _line_index(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every field path in a composed YAML document to its 1-based line."""
    index: dict[tuple[Any, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = yaml.safe_load(key_node.value) if key_node.tag.endswith(":int") else key_node.value
            index[(*path, key)] = key_node.start_mark.line + 1
            index.update(_line_index(value_node, (*path, key)))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            index[(*path, i)] = item.start_mark.line + 1
            index.update(_line_index(item, (*path, i)))
    return index


def parse_yaml(
    text: str, file: str, error: type[ScenarioError] = ScenarioError
) -> tuple[Any, dict[tuple[Any, ...], int]]:
    r"""YAML text's data and the line of each key path, within the reader's caps.

    Parameters
    ----------
    text
        The YAML text.
    file
        The name to put in messages.
    error
        The error class to raise.

    Raises
    ------
    ScenarioError
        (or ``error``) naming ``file`` and the line, for malformed YAML, a duplicated or unhashable key,
        or a document beyond :data:`MAX_DEPTH`, :data:`MAX_ALIASES`, :data:`MAX_NODES`,
        :data:`MAX_SCALAR_CHARS` or :data:`MAX_DIGITS`.

    Examples
    --------
    >>> parse_yaml("a:\n  b: 1\n", "x.yaml")
    ({'a': {'b': 1}}, {('a',): 1, ('a', 'b'): 2})
    """
    if len(text) > MAX_YAML_BYTES:
        raise error(f"a file of {len(text):,} characters; at most {MAX_YAML_BYTES:,} are read", file=file)
    # One parse: the composed node tree gives both the data and the line of every key.
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _expanded_size(node)
        data = loader.construct_document(node) if node is not None else None
        lines = _line_index(node)
    except ScenarioError as exc:
        raise error(exc.message, file=file, line=exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"malformed YAML: {problem}", file=file, line=mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    return data, lines


def check_data(data: Any, file: str | None = None, error: type[ScenarioError] = ScenarioError) -> None:
    """Apply the reader's caps to data that did not come from YAML text (a mapping from JSON).

    Raises
    ------
    ScenarioError
        (or ``error``) for nesting beyond :data:`MAX_DEPTH`, more than :data:`MAX_NODES` values, or a
        string :func:`scalar_problem` refuses.
    """
    count = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH or count > MAX_NODES:
            raise error(f"nested deeper than {MAX_DEPTH} levels or more than {MAX_NODES:,} values", file=file)
        if isinstance(value, str):
            problem = scalar_problem(value)
            if problem:
                raise error(problem, file=file)
        elif isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > 3 * MAX_DIGITS:
                raise error(f"a number of more than {MAX_DIGITS} digits", file=file)
        elif isinstance(value, Mapping):
            stack.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list | tuple):
            stack.extend((item, depth + 1) for item in value)


def read_yaml(
    source: str | Path,
    *,
    package: str,
    shipped: list[str],
    what: str,
    error: type[ScenarioError] = ScenarioError,
) -> tuple[Any, dict[tuple[Any, ...], int], str]:
    """Read a YAML file, or a built-in one by name from ``package``: its data, the line of each key
    path, and the file name to put in messages. Unreadable, malformed or hostile files (see
    :func:`parse_yaml`) raise ``error`` naming the file and line."""
    path = Path(source)
    if not path.exists() and str(source) in shipped:
        text = resources.files(package).joinpath(f"{source}.yaml").read_text("utf-8")
        file = f"{source}.yaml (built in)"
    elif not path.exists():
        raise error(
            f"no such file. Give a path to {what} or one of the built-in names: {', '.join(shipped)}",
            file=str(source),
        )
    else:
        file = str(source)
        try:
            size = path.stat().st_size
            if size > MAX_YAML_BYTES:
                raise error(f"a file of {size:,} bytes; at most {MAX_YAML_BYTES:,} are read", file=file)
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise error(f"cannot read the file ({exc})", file=file) from None
    data, lines = parse_yaml(text, file, error)
    return data, lines, file
