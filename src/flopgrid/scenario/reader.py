"""The one YAML reader of flopgrid (scenarios, claims ledgers): data with the line of every key, and
errors for unreadable, malformed or duplicated input that name the file and the line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from flopgrid.errors import ScenarioError

# libyaml's parser where PyYAML was built with it (the wheels are): the pure-Python scanner was half of a
# claims evaluation. Both give the same nodes, with the same marks.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A YAML loader that remembers the line of every mapping key and sequence item."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise ScenarioError(f"key {key!r} appears twice", line=key_node.start_mark.line + 1)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


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


def read_yaml(
    source: str | Path,
    *,
    package: str,
    shipped: list[str],
    what: str,
    error: type[ScenarioError] = ScenarioError,
) -> tuple[Any, dict[tuple[Any, ...], int], str]:
    """Read a YAML file, or a built-in one by name from ``package``: its data, the line of each key
    path, and the file name to put in messages. Unreadable or malformed files raise ``error`` naming
    the file and line."""
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
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise error(f"cannot read the file ({exc})", file=file) from None
    # One parse: the composed node tree gives both the data and the line of every key.
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
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
    return data, lines, file
