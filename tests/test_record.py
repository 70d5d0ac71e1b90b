"""mlgitops.record against dataclasses: the same class made both ways behaves the same.

Each case builds one class body twice, once with ``@dataclass(frozen=True)`` and
once with ``@record``, and holds every observable behaviour of the second to the
first's on the same values: construction (and its refusals), equality, hashing,
ordering, repr, immutability, ``replace``, ``asdict``, pickling and copying.
The spec's own records are then held to dataclasses twins of themselves.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
import random
from collections import namedtuple
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mlgitops import record as rec
from mlgitops.spec import deploy as spec_deploy
from mlgitops.spec import model as spec_model
from mlgitops.spec import repo_config as spec_repo_config
from mlgitops.spec.loader import parse_pipeline, parse_repo_config
from mlgitops.training.content import training_spec
from tests.conftest import PROJECT

Pair = namedtuple("Pair", "left right")


class _Factory:
    def __init__(self, make: Any) -> None:
        self.make = make


def _build(kind: str, name: str, fields: dict[str, Any], *, order: bool = False, **extra: Any):  # type: ignore[no-untyped-def]
    """``fields``: name -> default (``...``: none; a _Factory: default_factory)."""
    namespace: dict[str, Any] = {
        "__annotations__": {f: "Any" for f in fields},
        "__module__": __name__,
        "__qualname__": name,
        **extra,
    }
    for field_name, default in fields.items():
        if isinstance(default, _Factory):
            maker = dataclasses.field if kind == "dataclass" else rec.field
            namespace[field_name] = maker(default_factory=default.make)
        elif default is not ...:
            namespace[field_name] = default
    cls = type(name, (), namespace)
    if kind == "dataclass":
        return dataclasses.dataclass(frozen=True, order=order)(cls)
    return rec.record(order=order)(cls)


def _both(name: str, fields: dict[str, Any], **options: Any) -> tuple[Any, Any]:
    return _build("dataclass", name, fields, **options), _build("record", name, fields, **options)


def _outcome(call: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """What ``call(*args, **kwargs)`` returned, or the kind of exception it raised."""
    try:
        return "value", call(*args, **kwargs)
    except Exception as exc:
        return "raised", type(exc).__mro__[1] if type(
            exc
        ).__name__ == "FrozenInstanceError" else type(exc)


def _values(rng: random.Random) -> list[Any]:
    return [
        rng.choice([0, 1, -3, 2**70, 1.5, float("inf"), None, True, "", "a", "β", (1, "x"), ()])
        for _ in range(3)
    ]


POINT = {"x": ..., "y": "a", "z": ()}


def test_construction_and_its_refusals_match() -> None:
    theirs, ours = _both("Point", POINT)
    cases: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((1,), {}),
        ((1, "b"), {}),
        ((1, "b", (2,)), {}),
        ((), {"x": 1, "z": (3,)}),
        ((1,), {"y": "q"}),
        ((), {}),  # x missing
        ((1, 2, 3, 4), {}),  # too many
        ((1,), {"x": 2}),  # x twice
        ((1,), {"w": 2}),  # unknown
    ]
    for args, kwargs in cases:
        a = _outcome(theirs, *args, **kwargs)
        b = _outcome(ours, *args, **kwargs)
        assert a[0] == b[0], (args, kwargs)
        if a[0] == "value":
            assert repr(a[1]) == repr(b[1])
            assert dataclasses.asdict(a[1]) == rec.asdict(b[1])
        else:
            assert a[1] is b[1], (args, kwargs)


def test_equality_hash_repr_and_order_match_on_random_values() -> None:
    theirs, ours = _both("Point", POINT, order=True)
    rng = random.Random(7)
    rows = [_values(rng) for _ in range(60)]
    rows += rows[:10]  # equal ones
    a = [theirs(*row) for row in rows]
    b = [ours(*row) for row in rows]
    for i in range(len(rows)):
        assert repr(a[i]) == repr(b[i])
        assert hash(a[i]) == hash(b[i])
        for j in range(len(rows)):
            assert (a[i] == a[j]) == (b[i] == b[j])
            assert (a[i] != a[j]) == (b[i] != b[j])
            for op in ("__lt__", "__le__", "__gt__", "__ge__"):
                assert _outcome(getattr(a[i], op), a[j]) == _outcome(getattr(b[i], op), b[j])
    assert (a[0] == rows[0]) is (b[0] == rows[0]) is False  # not a tuple
    assert _outcome(lambda: a[0] < (1,)) == _outcome(lambda: b[0] < (1,))
    other_theirs, other_ours = _both("Other", POINT)
    assert (a[0] == other_theirs(*rows[0])) is (b[0] == other_ours(*rows[0])) is False
    assert math.isnan(ours(float("nan")).x)


def test_without_order_there_is_no_ordering_and_equal_records_hash_alike() -> None:
    theirs, ours = _both("Point", POINT)
    assert _outcome(lambda: theirs(1) < theirs(2)) == _outcome(lambda: ours(1) < ours(2))
    assert _outcome(lambda: ours(1) < ours(2))[0] == "raised"
    assert len({ours(1), ours(1), ours(2)}) == len({theirs(1), theirs(1), theirs(2)}) == 2


def test_records_are_immutable_as_frozen_dataclasses_are() -> None:
    theirs, ours = _both("Point", POINT)
    for instance in (theirs(1), ours(1)):
        with pytest.raises(AttributeError, match="cannot assign to field 'x'"):
            instance.x = 2
        with pytest.raises(AttributeError, match="cannot assign to field 'new'"):
            instance.new = 2
        with pytest.raises(AttributeError, match="cannot delete field 'x'"):
            del instance.x
        assert instance.x == 1


def test_defaults_factories_and_class_attributes_match() -> None:
    fields = {"x": ..., "tags": _Factory(list), "name": "n"}
    theirs, ours = _both("Bag", fields)
    a, b = ours(1), ours(1)
    a.tags.append("only a")
    assert b.tags == [] and a.tags == ["only a"]
    for name in fields:
        assert hasattr(theirs, name) == hasattr(ours, name), name
    assert ours.name == theirs.name == "n"
    assert ours.__match_args__ == theirs.__match_args__ == ("x", "tags", "name")
    for bad in ({"x": [], "y": ...}, {"x": 1, "y": ...}, {"x": {}}):
        assert _outcome(_build, "dataclass", "Bad", bad) == _outcome(
            _build, "record", "Bad", bad
        ), bad


@pytest.mark.parametrize("kind", ["InitVar[int]", "KW_ONLY", "dataclasses.KW_ONLY"])
def test_what_a_record_does_not_do_is_refused_when_the_class_is_made(kind: str) -> None:
    cls = type("Odd", (), {"__annotations__": {"x": "int", "y": kind}, "__module__": __name__})
    with pytest.raises(TypeError, match="a record has no"):
        rec.record(cls)


def test_class_variables_are_not_fields() -> None:
    @dataclasses.dataclass(frozen=True)
    class Theirs:
        x: int
        every: ClassVar[int] = 3

    @rec.record
    class Ours:
        x: int
        every: ClassVar[int] = 3

    assert rec.fields(Ours) == tuple(f.name for f in dataclasses.fields(Theirs)) == ("x",)
    assert Ours(1).every == Theirs(1).every == 3
    assert _outcome(Ours, 1, 2)[0] == _outcome(Theirs, 1, 2)[0] == "raised"


def test_replace_matches() -> None:
    theirs, ours = _both("Point", POINT)
    a, b = theirs(1, "b", (2,)), ours(1, "b", (2,))
    for changes in ({}, {"y": "c"}, {"x": 5, "z": ()}, {"w": 1}):
        got_a = _outcome(dataclasses.replace, a, **changes)
        got_b = _outcome(rec.replace, b, **changes)
        assert got_a[0] == got_b[0], changes
        if got_a[0] == "value":
            assert repr(got_a[1]) == repr(got_b[1])
            assert got_b[1] is not b
        else:
            assert got_a[1] is got_b[1]
    assert rec.replace(a, y="d") == dataclasses.replace(a, y="d")  # a dataclass, by the library
    with pytest.raises(TypeError):
        rec.replace(Pair(1, 2), left=3)


def test_asdict_matches_on_nested_values() -> None:
    inner_theirs, inner_ours = _both("Inner", {"v": ..., "w": None})
    outer = {"a": ..., "b": ..., "c": ..., "d": ..., "e": ...}
    outer_theirs, outer_ours = _both("Outer", outer)

    def make(inner: Any, outer_cls: Any) -> Any:
        return outer_cls(
            inner(1),
            [inner(2), {"k": inner(3, (4, [5]))}],
            (inner(6), Pair(inner(7), 8)),
            {"plain": [1.5, None, "s"], (1, 2): Path("p")},
            3,
        )

    a = make(inner_theirs, outer_theirs)
    b = make(inner_ours, outer_ours)
    mine, library = rec.asdict(b), dataclasses.asdict(a)
    assert mine == library
    assert type(mine["c"][1]) is Pair
    assert mine["b"][1]["k"]["w"][1] is not b.b[1]["k"].w[1]  # containers are copies
    assert rec.asdict(a) == library  # a dataclass, read the same way
    with pytest.raises(TypeError):
        rec.asdict({"not": "a record"})


def test_pickling_and_copying_keep_the_record() -> None:
    _, ours = _both("Point", POINT)
    globals()["Point"] = ours  # pickle finds the class by its module and name
    try:
        value = ours(1, "b", (2, 3))
        for copied in (
            pickle.loads(pickle.dumps(value)),
            copy.copy(value),
            copy.deepcopy(value),
        ):
            assert copied == value and copied is not value
            assert repr(copied) == repr(value)
    finally:
        del globals()["Point"]


def test_methods_the_class_defines_stay_and_post_init_runs() -> None:
    seen: list[Any] = []

    def post_init(self: Any) -> None:
        seen.append(self.x)

    extra = {
        "__repr__": lambda self: "mine",
        "__post_init__": post_init,
    }
    theirs = _build("dataclass", "Own", {"x": ...}, **extra)
    ours = _build("record", "Own", {"x": ...}, **extra)
    assert repr(theirs(1)) == repr(ours(1)) == "mine"
    assert seen == [1, 1]
    for kind in ("dataclass", "record"):
        with pytest.raises(TypeError, match="Cannot overwrite attribute __setattr__"):
            _build(kind, "Own", {"x": ...}, __setattr__=lambda self, n, v: None)


def test_a_subclass_adds_its_fields_after_its_base_s() -> None:
    base_theirs, base_ours = _both("Base", {"x": ..., "y": 2})
    sub_theirs = dataclasses.dataclass(frozen=True)(
        type("Sub", (base_theirs,), {"__annotations__": {"z": "Any", "x": "Any"}, "z": 3, "x": 0})
    )
    sub_ours = rec.record(
        type("Sub", (base_ours,), {"__annotations__": {"z": "Any", "x": "Any"}, "z": 3, "x": 0})
    )
    assert repr(sub_theirs()) == repr(sub_ours()) == "Sub(x=0, y=2, z=3)"
    assert repr(sub_theirs(5, 6, 7)) == repr(sub_ours(5, 6, 7))


def _twins() -> dict[type, Any]:
    """A frozen dataclass for each of the spec's records, with the same fields and defaults."""
    twins: dict[type, Any] = {}
    modules = (spec_model, spec_deploy, spec_repo_config)
    for value in [v for module in modules for v in vars(module).values()]:
        if not (isinstance(value, type) and hasattr(value, "__record_fields__")):
            continue
        namespace: dict[str, Any] = {"__annotations__": {}, "__qualname__": value.__qualname__}
        for name in rec.fields(value):
            namespace["__annotations__"][name] = "Any"
            if name in value.__record_defaults__:
                namespace[name] = value.__record_defaults__[name]
            elif name in value.__record_factories__:
                namespace[name] = dataclasses.field(
                    default_factory=value.__record_factories__[name]
                )
        twins[value] = dataclasses.dataclass(frozen=True)(type(value.__name__, (), namespace))
    return twins


def _as_twin(value: Any, twins: dict[type, Any]) -> Any:
    if type(value) in twins:
        return twins[type(value)](
            **{name: _as_twin(getattr(value, name), twins) for name in rec.fields(value)}
        )
    if isinstance(value, (list, tuple)):
        return type(value)(_as_twin(v, twins) for v in value)
    if isinstance(value, dict):
        return {k: _as_twin(v, twins) for k, v in value.items()}
    return value


SPECS = [
    PROJECT / "pipelines" / "tumors.yaml",
    *sorted((PROJECT / "tests" / "specs" / "valid").glob("*.yaml")),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_the_spec_s_records_read_as_their_dataclass_twins_do(spec: Path) -> None:
    """What the content key hashes (``training_spec``) and every other spec record read as
    dicts is what dataclasses.asdict makes of the same tree as dataclasses."""
    twins = _twins()
    assert len(twins) >= 20
    pipeline = parse_pipeline(spec.name, spec.read_text("utf-8"))
    twin = _as_twin(pipeline, twins)
    assert rec.asdict(pipeline) == dataclasses.asdict(twin)
    assert repr(pipeline) == repr(twin)
    assert training_spec(pipeline)["data"] == dataclasses.asdict(twin.data)
    assert hash(pipeline.data) == hash(twin.data)
    assert pipeline == parse_pipeline(spec.name, spec.read_text("utf-8"))
    config = parse_repo_config("mlgitops.yaml", (PROJECT / "mlgitops.yaml").read_text("utf-8"))
    assert rec.asdict(config) == dataclasses.asdict(_as_twin(config, twins))
