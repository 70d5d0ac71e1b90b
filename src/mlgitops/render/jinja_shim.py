"""Just enough of Jinja's runtime to run the precompiled workflow templates without Jinja.

Importing Jinja costs more than ``render --check`` may take. ``scripts/gen-templates``
compiles each template with Jinja and keeps the module only when its code uses
nothing beyond what this module provides (attribute and item lookup, loops
with ``loop.*``, calls, strict undefined names); otherwise the template is
compiled with Jinja at run time. Tests render every template both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from types import ModuleType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: The names a precompiled module may use, besides ``environment`` and ``context``.
SUPPORTED = ("LoopContext", "Undefined", "missing")
ENVIRONMENT_ATTRIBUTES = ("getattr", "getitem", "undefined", "concat")
CONTEXT_ATTRIBUTES = ("resolve_or_missing", "call")


class _Missing:
    def __repr__(self) -> str:
        return "missing"


missing: Any = _Missing()


class UndefinedError(Exception):
    """A template used a name or attribute its context does not have (a bug, as in Jinja)."""


class Undefined:
    """Strict: any use of an undefined value is an error (Jinja's ``StrictUndefined``)."""

    def __init__(self, name: str | None = None) -> None:
        self._name = name

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise UndefinedError(f"{self._name!r} is undefined")

    __str__ = __bool__ = __iter__ = __len__ = __call__ = __getattr__ = __getitem__ = _fail


class _Environment:
    @staticmethod
    def getattr(obj: Any, attribute: str) -> Any:
        try:
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return Undefined(attribute)

    @staticmethod
    def getitem(obj: Any, argument: Any) -> Any:
        try:
            return obj[argument]
        except (AttributeError, TypeError, LookupError):
            if isinstance(argument, str):
                try:
                    return getattr(obj, argument)
                except AttributeError:
                    pass
            return Undefined(str(argument))

    @staticmethod
    def undefined(hint: str | None = None, obj: Any = missing, name: str | None = None) -> Any:
        return Undefined(name)

    concat: Callable[[Iterable[str]], str] = "".join


environment = _Environment()


class LoopContext:
    """``for x in ...`` with ``loop.index``, ``loop.first``, ``loop.last``, ``loop.length``."""

    def __init__(self, iterable: Iterable[Any], undefined: Any, *rest: Any) -> None:
        self._items = list(iterable)
        self.index0 = -1

    def __iter__(self) -> Iterator[tuple[Any, LoopContext]]:
        for index, item in enumerate(self._items):
            self.index0 = index
            yield item, self

    @property
    def length(self) -> int:
        return len(self._items)

    @property
    def index(self) -> int:
        return self.index0 + 1

    @property
    def first(self) -> bool:
        return self.index0 == 0

    @property
    def last(self) -> bool:
        return self.index0 == len(self._items) - 1

    @property
    def revindex(self) -> int:
        return len(self._items) - self.index0

    @property
    def revindex0(self) -> int:
        return len(self._items) - self.index


class _Context:
    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def resolve_or_missing(self, key: str) -> Any:
        return self._values.get(key, missing)

    @staticmethod
    def call(function: Any, *args: Any, **kwargs: Any) -> Any:
        # Jinja passes the scope of a call inside a loop or block; its Context drops it too.
        kwargs.pop("_loop_vars", None)
        kwargs.pop("_block_vars", None)
        return function(*args, **kwargs)


def render(module: ModuleType, values: Mapping[str, Any]) -> str:
    """A precompiled template's text for ``values`` (Jinja's ``Template.render``)."""
    return "".join(module.root(_Context(values)))
