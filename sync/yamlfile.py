"""YAML files that remember where every value came from.

Config and mapping files are written by people; every problem must point at the file,
line and column, and say what would fix it. This module loads YAML safely (no tags that
build Python objects), rejects duplicate keys (YAML would silently keep the last one),
records the position of every node, and turns pydantic validation errors into located,
human messages with a did-you-mean for misspelt keys.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sync.errors import ConfigurationError, Location

__all__ = ["LoadedYaml", "Problem", "load_yaml", "load_yaml_text", "problems_from_validation"]

Loc = tuple[str | int, ...]
_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in a file, rendered as ``path:line:column: message`` + fix."""

    location: Location
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        return f"{text}\n  fix: {self.hint}" if self.hint else text


@dataclass
class LoadedYaml:
    """Parsed data plus the (line, column) of every mapping key and value, 1-based."""

    data: Any
    path: str
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    seen_nodes: set[int] = field(default_factory=set, repr=False, compare=False)  # alias detection

    def locate(self, loc: Sequence[str | int]) -> Location:
        """The position of the deepest known prefix of ``loc`` (the file itself at worst)."""
        probe: Loc = tuple(loc)
        while probe:
            if probe in self.positions:
                line, col = self.positions[probe]
                return Location(self.path, line, col)
            probe = probe[:-1]
        return Location(self.path, *self.positions.get((), (1, 1)))


def load_yaml(path: str | Path, *, label: str | None = None) -> LoadedYaml:
    """Read and parse a YAML file; any problem is a ConfigurationError naming the file."""
    p = Path(path)
    name = label or str(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(
            f"{name}: file not found",
            hint="check the path (relative paths resolve against the config file's folder)",
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"{name}: cannot read: {exc.strerror}") from None
    if len(raw) > _MAX_BYTES:
        raise ConfigurationError(
            f"{name}: file is larger than {_MAX_BYTES // 1024 // 1024} MiB; "
            "is this really a config or mapping file?"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{name}: not UTF-8 text (byte {exc.start})", hint="save the file as UTF-8"
        ) from None
    return load_yaml_text(text, name)


_MAX_NESTING = 64


def _check_nesting(text: str, name: str) -> None:
    """Refuse absurd nesting from the event stream (no recursion) before composing the tree."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_NESTING:
                mark = event.start_mark
                raise ConfigurationError(
                    f"YAML nested more than {_MAX_NESTING} levels deep",
                    hint="a config or mapping is a few levels deep; check the file",
                    location=Location(name, mark.line + 1, mark.column + 1) if mark else Location(name),
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml_text(text: str, name: str = "<string>") -> LoadedYaml:
    try:
        _check_nesting(text, name)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        loc = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name)
        raise ConfigurationError(
            f"malformed YAML: {exc.problem or exc}",
            hint="check indentation and quoting near this position",
            location=loc,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"malformed YAML: {exc}", location=Location(name)) from None
    except RecursionError:
        raise _too_deep(name) from None
    loaded = LoadedYaml(data=None, path=name)
    if node is None:
        loaded.positions[()] = (1, 1)
        return loaded
    try:
        loaded.data = _build(node, (), loaded)
    except RecursionError:
        raise _too_deep(name) from None
    return loaded


def _too_deep(name: str) -> ConfigurationError:
    return ConfigurationError(
        "YAML nested too deeply",
        hint="a config or mapping is a few levels deep; check the file",
        location=Location(name),
    )


_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _build(node: yaml.Node, loc: Loc, out: LoadedYaml) -> Any:
    out.positions[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.CollectionNode):
        # an alias (*name) is the same node object met again: refusing it stops alias bombs
        # ("billion laughs" in YAML) and self-referencing anchors before they expand
        seen = out.seen_nodes
        if id(node) in seen:
            where = ".".join(map(str, loc)) or "the document"
            raise ConfigurationError(
                f"YAML aliases (*name) are not supported ({where} repeats an &anchor)",
                hint="write the values out instead of referring to an &anchor",
                location=Location(out.path, *out.positions[loc]),
            )
        seen.add(id(node))
    if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
        raise ConfigurationError(
            f"unsupported YAML tag {node.tag}",
            hint="remove the tag",
            location=Location(out.path, *out.positions[loc]),
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConfigurationError(
                    "YAML merge keys (<<) are not supported",
                    hint="write the keys out",
                    location=out.locate(loc),
                )
            key = _scalar(key_node, out.path)
            if not isinstance(key, str | int):
                raise ConfigurationError(
                    "mapping keys must be text",
                    location=Location(out.path, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                )
            if key in result:
                raise ConfigurationError(
                    f"duplicate key {key!r}",
                    hint="YAML keeps only the last one; remove or rename one",
                    location=Location(out.path, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                )
            result[key] = _build(value_node, (*loc, key), out)
            # point at the key, not its value: "unknown key" and "missing" read naturally there
            out.positions[(*loc, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), out) for i, item in enumerate(node.value)]
    return _scalar(node, out.path)


def _scalar(node: yaml.Node, path: str) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return node
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        raise ConfigurationError(
            f"unsupported YAML value: {exc.problem}",
            hint="remove the tag",
            location=Location(path, node.start_mark.line + 1, node.start_mark.column + 1),
        ) from None
    finally:
        loader.dispose()


def problems_from_validation(
    exc: ValidationError,
    loaded: LoadedYaml,
    model: type[BaseModel] | None = None,
    prefix: Loc = (),
    tags: tuple[str, ...] = (),
) -> list[Problem]:
    """Located problems from a pydantic ValidationError, with a did-you-mean for typos.

    ``tags`` are the discriminator values of tagged unions (a reminder channel's ``type``):
    pydantic puts the chosen member's tag into error locations, though it is no key of the file.
    """
    problems = []
    for err in exc.errors(include_url=False):
        raw = tuple(part for part in err["loc"] if not _is_union_tag(part))
        loc = (*prefix, *(part for part in raw if part not in tags))
        where = loaded.locate(loc)
        field_path = ".".join(str(p) for p in loc) or "(top level)"
        hint = ""
        if err["type"] == "extra_forbidden":
            bad = str(loc[-1]) if loc else ""
            known = _known_keys(model, raw[:-1]) if model else []
            guess = difflib.get_close_matches(bad, known, n=1, cutoff=0.6)
            msg = f"unknown key {bad!r}"
            hint = (
                f"did you mean {guess[0]!r}?"
                if guess
                else (f"allowed keys here: {', '.join(sorted(known))}" if known else "remove it")
            )
        elif err["type"] == "missing":
            msg = f"{field_path}: required key is missing"
            hint = f"add {str(loc[-1])!r}" if loc else ""
        else:
            msg = f"{field_path}: {err['msg']}"
        problems.append(Problem(where, msg, hint))
    return problems


def _is_union_tag(part: str | int) -> bool:
    # pydantic inserts the chosen member's tag (e.g. 'function-after[...]') into locations
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _known_keys(model: type[BaseModel], loc: Iterable[str | int]) -> list[str]:
    """Field names (and aliases) of the sub-model at ``loc``, for the did-you-mean.

    A field whose type is a union of models keeps every member as a candidate until a
    discriminator tag in the location (``email`` of a channel) picks one.
    """
    candidates: list[Any] = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        picked = [m for m in candidates if _tag_of(m) == part]
        if picked:
            candidates = picked
            continue
        found: list[Any] = []
        for current in candidates:
            fields = getattr(current, "model_fields", {})
            info = fields.get(part) or next((f for f in fields.values() if f.alias == part), None)
            if info is not None:
                found += _models_of(info.annotation)
        candidates = found
    keys: list[str] = []
    for current in candidates:
        keys += [f.alias or name for name, f in current.model_fields.items()]
    return sorted(set(keys))


def _tag_of(model: Any) -> Any:
    """The discriminator value a union member declares (its ``type`` field's one literal value)."""
    info = getattr(model, "model_fields", {}).get("type")
    args: tuple[Any, ...] = getattr(info.annotation, "__args__", ()) if info is not None else ()
    return args[0] if len(args) == 1 else None


def _models_of(annotation: Any) -> list[Any]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[Any] = []
    for arg in getattr(annotation, "__args__", ()):
        found += _models_of(arg)
    return found
