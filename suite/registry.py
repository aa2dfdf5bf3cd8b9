"""A typed registry of named components (students, teachers, baselines), in the spirit of
lm-evaluation-harness: built-ins register themselves with a decorator in their own module, discovered by
importing the package's modules; anything else is named lazily as `module:attr` or `path/file.py:attr`."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from kdsuite.errors import KdsuiteError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    target: T
    defaults: dict[str, Any] = field(default_factory=dict)  # keyword arguments bound to this name
    meta: dict[str, Any] = field(default_factory=dict)


def load_attr(spec: str, kind: str) -> Any:
    """Import `package.module:attr` or `path/to/file.py:attr`."""
    module_name, _, attr = spec.rpartition(":")
    if not module_name or not attr:
        raise KdsuiteError(f"{kind} {spec!r}: expected 'module:Name' or 'file.py:Name'")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).expanduser().resolve()
            if not path.is_file():
                raise KdsuiteError(f"{kind} {spec!r}: file {path} not found")
            mod_id = f"kdsuite_user_{path.stem}_{abs(hash(str(path)))}"
            module = sys.modules.get(mod_id)
            if module is None:
                loader_spec = importlib.util.spec_from_file_location(mod_id, path)
                module = importlib.util.module_from_spec(loader_spec)
                sys.modules[mod_id] = module
                loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except KdsuiteError:
        raise
    except Exception as exc:
        raise KdsuiteError(f"{kind} {spec!r}: cannot import {module_name} ({type(exc).__name__}: {exc})") from None
    if not hasattr(module, attr):
        raise KdsuiteError(f"{kind} {spec!r}: {module_name} has no attribute {attr!r}")
    return getattr(module, attr)


class Registry(Generic[T]):
    """Names -> entries. `package` is imported module by module on first lookup (discovery)."""

    def __init__(self, kind: str, package: str):
        self.kind, self.package = kind, package
        self._entries: dict[str, Entry[T]] = {}
        self._discovered = False

    def add(self, name: str, target: T, defaults: dict | None = None, **meta) -> None:
        existing = self._entries.get(name)
        if existing is not None and existing.target is not target:
            raise KdsuiteError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = Entry(name, target, dict(defaults or {}), meta)

    def register(self, name: str, *, sizes: dict[str, dict] | None = None, **meta) -> Callable[[T], T]:
        """Decorator: register `target` as `name`, plus one extra name per size preset in `sizes`."""

        def wrap(target: T) -> T:
            self.add(name, target, {}, **meta)
            for size_name, kwargs in (sizes or {}).items():
                self.add(size_name, target, kwargs, **meta)
            return target

        return wrap

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        package = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{self.package}.{info.name}")

    def names(self) -> list[str]:
        self._discover()
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names()]

    def get(self, name: str) -> Entry[T]:
        """A registered name, or a lazy `module:attr` / `file.py:attr` reference."""
        self._discover()
        if name in self._entries:
            return self._entries[name]
        if ":" in name:
            before = set(self._entries)
            target = load_attr(name, self.kind)
            for new in set(self._entries) - before:  # the file registered itself: use its metadata
                if self._entries[new].target is target and not self._entries[new].defaults:
                    return self._entries[new]
            return Entry(name, target, {}, {"family": "external"})
        raise KdsuiteError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
