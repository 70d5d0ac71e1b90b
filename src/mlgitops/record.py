"""Frozen records for the modules every command imports: ``@dataclass(frozen=True)``'s
behaviour without its cost at import.

:mod:`dataclasses` writes each class's methods as source text and compiles it
when the class is created (six compilations a class on Python 3.11), and
importing it imports :mod:`inspect`. For the thirty records the CLI loads
before ``render --check`` renders anything, that was a quarter of the
command's time. Here every record shares the same few methods, which read the
class's field names.

A record behaves as the same class under ``@dataclass(frozen=True)`` does:
its ``__init__`` takes the fields in order, positionally or by name, with
their defaults (``field(default_factory=...)`` for a mutable one); instances
are immutable, equal when of the same class with equal fields, hashed by
their fields, shown as ``Name(field=value, ...)``; ``order=True`` adds the
comparisons, as tuples of the fields. Methods the class body defines itself
are kept. :func:`replace` and :func:`asdict` are ``dataclasses.replace`` and
``dataclasses.asdict`` for records (the tests hold both to the library's on
the same classes). Records keep ``__dict__``, so pickling and copying work as
they do for a dataclass.

Modules that import pandas or MLflow anyway keep :mod:`dataclasses`; a record
may hold either.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any, TypeVar, dataclass_transform

    _T = TypeVar("_T")
else:
    # A type checker's marker: at run time ``typing.dataclass_transform`` sets an attribute
    # nothing reads, and importing typing for it took a twentieth of ``render --check``.
    def dataclass_transform(**_):
        return lambda function: function


_MISSING: Any = object()
_PLAIN = (str, int, float, bool, type(None))
_FIELDS = "__record_fields__"
_DEFAULTS = "__record_defaults__"
_FACTORIES = "__record_factories__"
_MATCH_ARGS = "__match_args__"


class FrozenInstanceError(AttributeError):
    """Assigning to, or deleting, a field of a record."""


class _Field:
    __slots__ = ("default", "default_factory")

    def __init__(self, default: Any, default_factory: Callable[[], Any] | None) -> None:
        self.default = default
        self.default_factory = default_factory


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None) -> Any:
    """A field's default given another way: ``default_factory`` makes a fresh value per record."""
    if (default is _MISSING) == (default_factory is None):
        raise ValueError("field() takes exactly one of default and default_factory")
    return _Field(default, default_factory)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[_T] | None = None, /, *, order: bool = False) -> Any:
    """Make ``cls`` a frozen record of its annotated fields (``order``: sortable)."""

    def make(cls: type[_T]) -> type[_T]:
        _make(cls, order)
        return cls

    return make if cls is None else make(cls)


def is_record(value: Any) -> bool:
    return hasattr(type(value), _FIELDS)


def fields(value: Any) -> tuple[str, ...]:
    """The names of a record's (or a record class's) fields, in order."""
    names: tuple[str, ...] = getattr(value if isinstance(value, type) else type(value), _FIELDS)
    return names


def replace(value: _T, /, **changes: Any) -> _T:
    """A copy of the record (or dataclass) ``value`` with ``changes``, built as a new one."""
    if not is_record(value):
        if hasattr(type(value), "__dataclass_fields__"):
            import dataclasses

            return dataclasses.replace(value, **changes)  # type: ignore[type-var]
        raise TypeError("replace() should be called on record or dataclass instances")
    names = fields(value)
    for name in changes:
        if name not in names:
            raise TypeError(
                f"{type(value).__qualname__}.__init__() got an unexpected keyword argument {name!r}"
            )
    values = {name: changes[name] if name in changes else getattr(value, name) for name in names}
    return type(value)(**values)


def asdict(value: Any) -> dict[str, Any]:
    """The record (or dataclass) as nested plain values: records and dataclasses as dicts,
    containers copied."""
    if not is_record(value) and not hasattr(type(value), "__dataclass_fields__"):
        raise TypeError("asdict() should be called on record or dataclass instances")
    found: dict[str, Any] = _plain(value)
    return found


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = getattr(kind, _FIELDS, None)
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if hasattr(kind, "__dataclass_fields__"):
        import dataclasses

        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return kind(*[_plain(v) for v in value])
    if isinstance(value, (list, tuple)):
        return kind(_plain(v) for v in value)
    if isinstance(value, dict):
        return kind((_plain(k), _plain(v)) for k, v in value.items())
    import copy

    return copy.deepcopy(value)


def _own_fields(cls: type) -> list[str]:
    # inspect.get_annotations would import inspect, which this module exists to avoid
    annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
    names = []
    for name, kind in annotations.items():
        spelt = str(kind).replace("typing.", "").replace("dataclasses.", "")
        if spelt.startswith(("InitVar", "KW_ONLY")):
            raise TypeError(f"{cls.__name__}.{name}: a record has no {spelt.split('[')[0]}")
        if not spelt.startswith("ClassVar"):
            names.append(name)
    return names


def _make(cls: type, order: bool) -> None:
    names: list[str] = []
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for base in reversed(cls.__mro__[1:]):
        if _FIELDS in base.__dict__:
            for name in getattr(base, _FIELDS):
                if name not in names:
                    names.append(name)
            defaults.update(getattr(base, _DEFAULTS))
            factories.update(getattr(base, _FACTORIES))
    for name in _own_fields(cls):
        if name not in names:
            names.append(name)
        defaults.pop(name, None)
        factories.pop(name, None)
        given = cls.__dict__.get(name, _MISSING)
        if isinstance(given, _Field):
            if given.default_factory is not None:
                factories[name] = given.default_factory
                delattr(cls, name)
                continue
            given = given.default
            setattr(cls, name, given)
        if given is _MISSING:
            continue
        if type(given).__hash__ is None:
            raise ValueError(
                f"mutable default {type(given)} for field {name} is not allowed: "
                "use default_factory"
            )
        defaults[name] = given
    seen_default = False
    for name in names:
        if name in defaults or name in factories:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {name!r} follows default argument")
    setattr(cls, _FIELDS, tuple(names))
    setattr(cls, _DEFAULTS, defaults)
    setattr(cls, _FACTORIES, factories)
    methods: dict[str, Any] = {
        "__init__": _init(cls, tuple(names), defaults, factories),
        "__repr__": _repr,
        "__eq__": _eq,
        "__setattr__": _setattr,
        "__delattr__": _delattr,
    }
    if order:
        methods.update(__lt__=_lt, __le__=_le, __gt__=_gt, __ge__=_ge)
    for name, method in methods.items():
        if name not in cls.__dict__:
            setattr(cls, name, method)
        elif name not in ("__init__", "__repr__", "__eq__"):
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
    own_hash = cls.__dict__.get("__hash__", _MISSING)
    if own_hash is _MISSING or (own_hash is None and "__eq__" in cls.__dict__):
        cls.__hash__ = _hash  # type: ignore[method-assign, assignment]
    if _MATCH_ARGS not in cls.__dict__:
        setattr(cls, _MATCH_ARGS, tuple(names))


def _init(
    cls: type,
    names: tuple[str, ...],
    defaults: dict[str, Any],
    factories: dict[str, Callable[[], Any]],
) -> Callable[..., None]:
    count = len(names)
    known = frozenset(names)
    post_init = getattr(cls, "__post_init__", None) is not None
    qualname = f"{cls.__qualname__}.__init__()"

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > count:
            raise TypeError(
                f"{qualname} takes {count + 1} positional arguments but {len(args) + 1} were given"
            )
        values = dict(zip(names, args, strict=False))
        for name, value in kwargs.items():
            if name not in known:
                raise TypeError(f"{qualname} got an unexpected keyword argument {name!r}")
            if name in values:
                raise TypeError(f"{qualname} got multiple values for argument {name!r}")
            values[name] = value
        if len(values) < count:
            missing = []
            for name in names:
                if name in values:
                    continue
                if name in defaults:
                    values[name] = defaults[name]
                elif name in factories:
                    values[name] = factories[name]()
                else:
                    missing.append(name)
            if missing:
                listed = ", ".join(repr(name) for name in missing)
                raise TypeError(f"{qualname} missing {len(missing)} required argument(s): {listed}")
        own = self.__dict__
        for name in names:
            own[name] = values[name]
        if post_init:
            self.__post_init__()

    __init__.__qualname__ = qualname[:-2]
    return __init__


def _values(value: Any) -> tuple[Any, ...]:
    return tuple(getattr(value, name) for name in getattr(type(value), _FIELDS))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in getattr(type(self), _FIELDS))
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        return _values(self) == _values(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(_values(self))


def _setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _lt(self: Any, other: Any) -> Any:
    return _values(self) < _values(other) if other.__class__ is self.__class__ else NotImplemented


def _le(self: Any, other: Any) -> Any:
    return _values(self) <= _values(other) if other.__class__ is self.__class__ else NotImplemented


def _gt(self: Any, other: Any) -> Any:
    return _values(self) > _values(other) if other.__class__ is self.__class__ else NotImplemented


def _ge(self: Any, other: Any) -> Any:
    return _values(self) >= _values(other) if other.__class__ is self.__class__ else NotImplemented
