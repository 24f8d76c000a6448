"""``AABENT__SECTION__KEY=value`` environment overrides, laid over the settings file."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from services.settings.base import ConfigError

ENV_PREFIX = "AABENT__"


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``AABENT__MQTT__PORT=1884`` -> ``{"mqtt": {"port": 1884}}``; values read as TOML."""
    tree: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in key[len(ENV_PREFIX) :].split("__") if p]
        if not path:
            continue
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def list_keys(model: type[BaseModel]) -> frozenset[str]:
    """The names of the list-valued settings (``readers``, ``exceptions``), found in the models."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = get_args(annotation)
        if get_origin(annotation) is tuple:
            names.add(name)
        for candidate in (annotation, *args):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names |= list_keys(candidate)
    return frozenset(names)


def overlay(
    base: dict[str, Any],
    over: Mapping[str, Any],
    lists: frozenset[str],
    path: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``over`` (from the environment) laid over ``base`` (the file), key by key.

    A list of tables (a door's readers, named in ``lists``) takes overrides by index,
    ``…__READERS__1__URL``: the entry is changed in place, or added when the index is the next.
    """
    out = dict(base)
    for key, value in over.items():
        here = (*path, key)
        current = out.get(key)
        if isinstance(value, Mapping) and key in lists and isinstance(current, list | None):
            out[key] = _overlay_list(list(current or []), value, lists, here)
        elif isinstance(value, Mapping) and isinstance(current, dict | None):
            out[key] = overlay(current or {}, value, lists, here)  # a new door's readers too
        else:
            out[key] = value
    return out


def _overlay_list(
    items: list[Any], over: Mapping[str, Any], lists: frozenset[str], path: tuple[str, ...]
) -> list[Any]:
    for index_text in sorted(over, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0)):
        env = ENV_PREFIX + "__".join(p.upper() for p in (*path, index_text))
        where = ".".join(path)
        if not index_text.isdigit():
            raise ConfigError(f"{env}: {where} is a list: {index_text!r} is not an index")
        index, value = int(index_text), over[index_text]
        if index > len(items):
            change = f"change one of them (0-{len(items) - 1}) or " if items else ""
            raise ConfigError(
                f"{env}: {where} has {len(items)} entries; an override may {change}"
                f"add the next ({len(items)})"
            )
        if index == len(items):
            items.append(value)
        elif isinstance(value, Mapping) and isinstance(items[index], dict):
            items[index] = overlay(items[index], value, lists, (*path, index_text))
        else:
            items[index] = value
    return items
