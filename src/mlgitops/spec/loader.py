"""Parse spec text into records, collecting every problem with its position.

Pure: text in, records or :class:`~mlgitops.errors.SpecError` out. Reading
the files is :func:`mlgitops.spec.load_repo`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlgitops.errors import Problem, SpecError, first_line
from mlgitops.jsondoc import MAX_DEPTH
from mlgitops.sha import sha256_hex
from mlgitops.spec import fastyaml
from mlgitops.spec import model as m
from mlgitops.spec.checks import problems
from mlgitops.spec.deploy import (
    MODEL_TIMEOUT_S,
    Analysis,
    Canary,
    Deploy,
    Environment,
    ImageBuild,
    Metrics,
    RegistryCredentials,
    Server,
)
from mlgitops.spec.positions import Key, dotted, locate
from mlgitops.spec.repo_config import ArgoCD, Pool, RepoConfig, Runners, Toleration
from mlgitops.spec.schema_eval import as_integers
from mlgitops.spec.schema_problems import schema

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any


def parse_yaml(source: str, text: str) -> tuple[Any, list[Problem]]:
    """Load YAML keeping node positions; a syntax error becomes one problem, and so does a
    document no reader should walk (:func:`unusable`)."""
    doc, found = _load(source, text)
    return (doc, found) if doc is None else _usable(source, text, doc)


def problem_in(source: str, text: str, path: list[Key], message: str) -> Problem:
    """A problem at ``path`` of the YAML ``text`` of file ``source``."""
    doc, _ = parse_yaml(source, text)
    return Problem(source, *locate(doc, path), message)


def _load(source: str, text: str) -> tuple[Any, list[Problem]]:
    doc = fastyaml.load(text)
    if doc is not fastyaml.SLOW:
        if not isinstance(doc, Mapping):
            return None, [Problem(source, 1, 1, "expected a mapping at the top level")]
        return doc, []
    try:
        return _load_slow(source, text)
    except AssertionError:  # ruamel's parser asserts a directive's minor version is 1 or 2
        version = _odd_version(source, text)
        why = "YAML: a %YAML directive of a version mlgitops does not read (1.1 and 1.2)"
        return None, [version or Problem(source, 1, 1, why)]


def _load_slow(source: str, text: str) -> tuple[Any, list[Problem]]:
    """:func:`_load` where the fast reader cannot: ruamel.yaml, which knows every place."""
    deep = fastyaml.too_deep(text)
    if deep is not None:
        why = f"collections nested more than {MAX_DEPTH} levels deep"
        return None, [Problem(source, deep[0] + 1, deep[1] + 1, f"YAML: {why}")]
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = (exc.problem or exc.context or "invalid YAML").strip()
        if "duplicate key" in reason or "found duplicate key" in str(exc):
            reason = _duplicate_reason(exc)
        return None, [Problem(source, line, col, f"YAML: {reason}")]
    except YAMLError as exc:
        position = getattr(exc, "position", None)  # a character YAML does not allow
        character = getattr(exc, "character", None)
        if isinstance(position, int) and isinstance(character, int | str):
            at = min(position, len(text))
            line = text.count("\n", 0, at) + 1
            col = at - (text.rfind("\n", 0, at) + 1) + 1
            code = character if isinstance(character, int) else ord(character)
            why = f"unacceptable character #x{code:04x}: YAML allows no control characters"
            return None, [Problem(source, line, col, f"YAML: {why}")]
        return None, [Problem(source, 1, 1, f"YAML: {exc}")]
    except (ValueError, RecursionError) as exc:
        return None, [_unreadable(source, text, exc)]
    except (IndexError, KeyError) as exc:  # ruamel, making a value of ``!!bool maybe``
        return None, [_bad_tag(source, text) or _unbuildable(source, text, exc)]
    except (TypeError, AttributeError) as exc:  # ruamel, making values of what parsed
        return None, [_bad_tag(source, text) or _unbuildable(source, text, exc)]
    if doc is None:
        return None, [Problem(source, 1, 1, "the file is empty: expected a mapping")]
    if not isinstance(doc, Mapping):
        return None, [Problem(source, 1, 1, "expected a mapping at the top level")]
    return doc, []


#: The most values (collections, keys and scalars) a document's aliases may add once
#: expanded: a few aliases of aliases can stand for billions, which every reader would walk.
#: (What is written out is never too much: a schema of 40,000 columns holds 120,000.)
MAX_VALUES = 100_000
_SURROGATE = "holds a lone surrogate (an escape such as \\ud800), which is no character"


def _usable(source: str, text: str, doc: Any) -> tuple[Any, list[Problem]]:
    """``doc``, or None and the problems that make it one no reader should walk: aliases
    that expand past :data:`MAX_VALUES`, or text that no UTF-8 writer can write."""
    size, surrogates = unusable(doc)
    if size > MAX_VALUES:  # what the aliases add
        line, col = _first_alias(text)
        why = f"its aliases expand to more than {MAX_VALUES:,} values"
        return None, [Problem(source, line, col, f"YAML: {why}")]
    found = [  # the place escaped: a message must be writable too (validation.json)
        Problem(
            source, *locate(doc, path, at_key=at_key), f"{_escaped(dotted(path))}: {_SURROGATE}"
        )
        for path, at_key in surrogates
    ]
    return (None, found) if found else (doc, [])


def unusable(doc: Any) -> tuple[int, list[tuple[list[Key], bool]]]:
    """How many values (keys included) expanding ``doc``'s aliases adds to those written,
    and where a key (True) or a text (False) holds a lone surrogate (``"\\ud800"`` in a
    double-quoted scalar). Each shared collection is walked once, so the time does not grow
    with the expansion; the places are looked for only where the first walk saw a
    surrogate."""
    sizes: dict[int, int] = {}
    seen = False
    written = 0  # the values written: each collection once, with its own keys and values

    def size(node: Any) -> int:
        nonlocal seen, written
        if not isinstance(node, Mapping | list | tuple):  # a key may be a collection: a tuple
            if isinstance(node, str):
                seen = seen or (not node.isascii() and _surrogate(node))
            return 1
        known = sizes.get(id(node))
        if known is None:
            own = _own_items(node)
            written += 1 + sum(1 for item in own if not isinstance(item, Mapping | list | tuple))
            items = [*node.keys(), *node.values()] if isinstance(node, Mapping) else node
            known = sizes[id(node)] = 1 + sum(map(size, items))
        return known

    total = size(doc)
    added = total - written if isinstance(doc, Mapping | list | tuple) else 0
    return added, _surrogates(doc, [], set()) if seen and added <= MAX_VALUES else []


def _own_items(node: Mapping[Any, Any] | list[Any] | tuple[Any, ...]) -> list[Any]:
    """The keys and values a collection writes itself: a mapping's without those a merge
    key (``<<: *m``) copies in, which ruamel keeps apart (``_ok``, its own keys)."""
    if not isinstance(node, Mapping):
        return list(node)
    own = getattr(node, "_ok", None)
    keys = [k for k in node if own is None or k in own]
    return [*keys, *(node[k] for k in keys)]


def _escaped(text: str) -> str:
    """``text`` with each lone surrogate written as its escape (``\\ud800``)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")  # a lone surrogate is all it refuses
    except UnicodeEncodeError:
        return True
    return False


def _surrogates(node: Any, path: list[Key], done: set[int]) -> list[tuple[list[Key], bool]]:
    """Where a key (True) or a text (False) under ``node`` holds a lone surrogate, each
    shared collection looked into once."""
    if isinstance(node, str):
        return [(path, False)] if _surrogate(node) else []
    if not isinstance(node, Mapping | list | tuple) or id(node) in done:
        return []
    done.add(id(node))
    found: list[tuple[list[Key], bool]] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(key, str) and _surrogate(key):
                found.append(([*path, key], True))
            found += _surrogates(value, [*path, key], done)
    else:
        for index, item in enumerate(node):
            found += _surrogates(item, [*path, index], done)
    return found


def _first_alias(text: str) -> tuple[int, int]:
    """The place (1-based line, column) of the document's first alias."""
    from ruamel.yaml import YAML, events

    for event in YAML(typ="rt", pure=True).parse(text):
        if isinstance(event, events.AliasEvent) and event.start_mark is not None:
            return event.start_mark.line + 1, event.start_mark.column + 1
    return 1, 1


def _unreadable(source: str, text: str, exc: ValueError | RecursionError) -> Problem:
    """Where YAML that parses holds what Python cannot make a value of: an integer past its
    digit limit, or collections nested deeper than its stack."""
    import re

    if isinstance(exc, RecursionError):
        return Problem(source, 1, 1, "YAML: collections nested too deeply to read")
    found = re.search(r"[-+]?[0-9][0-9_]{4000,}", text)
    tagged = None if found else _bad_tag(source, text)  # ``!!int abc``
    if tagged is not None:
        return tagged
    at = found.start() if found else 0
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return Problem(source, line, col, f"YAML: a value that cannot be read ({exc})")


def _odd_version(source: str, text: str) -> Problem | None:
    """A ``%YAML 1.x`` directive of a minor version other than 1 and 2, at its line."""
    import re

    at_line = r"(?:\A\ufeff?|(?<=[\r\n]))"  # after a byte-order mark, or any line break
    found = re.search(at_line + r"%YAML[ \t]+([0-9]+)\.([0-9]+)", text)
    if found is None or (found.group(1), found.group(2)) in (("1", "1"), ("1", "2")):
        return None
    line = len(re.findall(r"\r\n|\r|\n", text[: found.start()])) + 1
    why = f"%YAML {found.group(1)}.{found.group(2)}: mlgitops reads YAML 1.1 and 1.2"
    return Problem(source, line, 1, f"YAML: {why}")


def _bad_tag(source: str, text: str) -> Problem | None:
    """The first scalar whose explicit tag makes no value of its text (``!!int abc``,
    ``!!bool maybe``, an empty ``!!float``), at its place; None where there is none."""
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    yaml = YAML(typ="rt", pure=True)
    stack, seen = [yaml.compose(text)], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            stack += [part for pair in reversed(node.value) for part in reversed(pair)]
        elif isinstance(node, SequenceNode):
            stack += reversed(node.value)
        elif isinstance(node, ScalarNode) and _tagged(text, node.start_mark.index):
            try:
                yaml.constructor.construct_object(node, deep=True)
            except Exception:  # whatever ruamel raises: this text makes no value of its tag
                mark, tag = node.start_mark, "!!" + str(node.tag).rsplit(":", 1)[1]
                why = f"{tag} cannot make a value of {node.value!r}"
                return Problem(source, mark.line + 1, mark.column + 1, f"YAML: {why}")
    return None


def _tagged(text: str, at: int) -> bool:
    """Whether the node written at ``at`` has an explicit tag (after its anchor, if any)."""
    import re

    return re.match(r"(&[^ \t\r\n]+[ \t\r\n]+)?!", text[at : at + 1024]) is not None


_MERGES_ITSELF = "`<<` merges a map into itself (its alias names a map that holds it)"
_NESTED_KEY = "a key that is a list or a map may not hold another list or map"


def _unbuildable(source: str, text: str, exc: Exception) -> Problem:
    """Where YAML that parses makes no value: a key holding a list or a map inside a list or
    a map (no Python key can), or a ``<<`` that merges a map into itself."""
    from ruamel.yaml import YAML

    found = _unbuildable_node(YAML(typ="rt", pure=True).compose(text), [], set())
    if found is None:
        return Problem(source, 1, 1, f"YAML: a value that cannot be read ({first_line(exc)})")
    mark, why = found
    return Problem(source, mark.line + 1, mark.column + 1, f"YAML: {why}")


def _unbuildable_node(node: Any, holders: list[Any], seen: set[int]) -> tuple[Any, str] | None:
    """The mark of the first key or ``<<`` under ``node`` that makes no value, and why;
    ``holders``: the collections that hold ``node``."""
    from ruamel.yaml.nodes import CollectionNode, MappingNode

    if not isinstance(node, CollectionNode) or id(node) in seen:
        return None
    seen.add(id(node))
    pairs = node.value if isinstance(node, MappingNode) else [(None, item) for item in node.value]
    within = [*holders, node]
    for key, value in pairs:
        if isinstance(key, CollectionNode) and any(
            isinstance(inner, CollectionNode) for inner in _children(key)
        ):
            return key.start_mark, _NESTED_KEY
        if key is not None and key.tag == "tag:yaml.org,2002:merge":
            merged = value.value if value.tag == "tag:yaml.org,2002:seq" else [value]
            if any(m is h for m in merged for h in within):
                return key.start_mark, _MERGES_ITSELF
        for child in (key, value):
            found = _unbuildable_node(child, within, seen)
            if found is not None:
                return found
    return None


def _children(node: Any) -> list[Any]:
    from ruamel.yaml.nodes import MappingNode

    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value)


def _duplicate_reason(exc: Any) -> str:
    problem = (exc.problem or "").strip()
    # ruamel says: 'found duplicate key "x" with value "..." (original value: "...")'
    key = problem.split('"')[1] if problem.count('"') >= 2 else "?"
    first = exc.context_mark
    where = f" (first defined at line {first.line + 1})" if first else ""
    return f"duplicate key '{key}'{where}"


def _whole(doc: Any, kind: str) -> Any:
    """A valid document as plain values, the integers the schema asks for written as such
    even where the YAML writes them as floats (``8080.0``)."""
    return as_integers(_plain(doc), schema(kind))


def _plain(value: Any) -> Any:
    """ruamel's commented containers and scalar subclasses as plain Python values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def parse_pipeline(source: str, text: str) -> m.Pipeline:
    """One pipeline spec from its text; ``source`` is the repo-relative path."""
    return parse_pipeline_doc(source, text)[0]


def parse_pipeline_doc(source: str, text: str) -> tuple[m.Pipeline, Any]:
    """The pipeline and its YAML document (with node positions, for later checks)."""
    doc, found = parse_yaml(source, text)
    if doc is not None:
        found = problems(source, doc, "pipeline")
    if found:
        raise SpecError(found, doc)
    pipeline = build_pipeline(_whole(doc, "pipeline"), source)
    digest = sha256_hex(text.encode("utf-8"))
    return _with_hash(pipeline, digest), doc


def _with_hash(pipeline: m.Pipeline, digest: str) -> m.Pipeline:
    from mlgitops.record import replace

    return replace(pipeline, spec_hash=digest)


def parse_repo_config(source: str, text: str) -> RepoConfig:
    doc, found = parse_yaml(source, text)
    if doc is not None:
        found = problems(source, doc, "repo")
    if found:
        raise SpecError(found)
    raw = _whole(doc, "repo")
    argocd = raw.get("argocd", {})
    return RepoConfig(
        action=raw.get("action", RepoConfig.action),
        default_branch=raw.get("default_branch", RepoConfig.default_branch),
        python=raw.get("python", RepoConfig.python),
        runs_on=raw.get("runs_on", RepoConfig.runs_on),
        tracking_uri=raw.get("mlflow", {}).get("tracking_uri"),
        argocd=ArgoCD(**argocd),
        runners=_runners(raw.get("runners", {})),
        attest=bool(raw.get("attest", False)),
    )


def _runners(raw: dict[str, Any]) -> Runners:
    fields = {k: v for k, v in raw.items() if k != "pools"}
    return Runners(**fields, pools=tuple(_pool(p) for p in raw.get("pools", ())))


def _pool(raw: dict[str, Any]) -> Pool:
    fields = {k: v for k, v in raw.items() if k != "tolerations"}
    tolerations = tuple(Toleration(**t) for t in raw.get("tolerations", ()))
    return Pool(**fields, tolerations=tolerations)


def build_pipeline(raw: dict[str, Any], source: str) -> m.Pipeline:
    """Records from a schema-valid plain document, defaults filled in."""
    task = raw["task"]
    metrics = tuple(raw.get("metrics") or m.DEFAULT_METRICS[task])
    # every gated metric is in ``metrics`` (checks.py): a gate never adds one
    gates = tuple(m.Gate(metric=k, **v) for k, v in sorted(raw.get("gates", {}).items()))
    return m.Pipeline(
        name=raw["name"],
        source=source,
        description=raw.get("description", ""),
        data=_data(raw["data"]),
        model=_model(raw["model"]),
        task=task,
        metrics=metrics,
        gates=gates,
        compare=_compare(raw.get("compare", {})),
        train=_train(raw.get("train", {})),
        deploy=_deploy(raw["deploy"]) if "deploy" in raw else None,
        drift=_drift(raw["drift"]) if "drift" in raw else None,
    )


def repo_path(value: str) -> str:
    """A repository path as git names it (``./data/x.csv`` and ``data//x.csv`` are
    ``data/x.csv``), a folder's trailing ``/`` kept; a URL as written. What ``plan``
    compares with git's changed files, the workflows' path filters and the content key
    all see one spelling."""
    import posixpath

    if m.is_url(value):
        return value
    return posixpath.normpath(value) + ("/" if value.endswith("/") else "")


def _data(raw: dict[str, Any]) -> m.Data:
    columns = tuple(
        m.Column(name=name, **{**col, "isin": tuple(col["isin"]) if "isin" in col else None})
        for name, col in raw.get("columns", {}).items()
    )
    fields = {k: v for k, v in raw.items() if k not in ("columns", "split", "rows")}
    fields |= {k: repo_path(fields[k]) for k in ("path", "schema", "test_path") if k in fields}
    rows = m.Rows(**raw["rows"]) if "rows" in raw else None
    return m.Data(**fields, columns=columns, split=_split(raw.get("split", {})), rows=rows)


def _model(raw: dict[str, Any]) -> m.Model:
    return m.Model(
        estimator=raw.get("estimator"),
        params=raw.get("params", {}),
        command=raw.get("command"),
        code=tuple(repo_path(path) for path in raw.get("code", ())),
    )


def _compare(raw: dict[str, Any]) -> m.Compare:
    slices = raw.get("slices")
    fields = {k: v for k, v in raw.items() if k != "slices"}
    return m.Compare(**fields, slices=m.Slices(**slices) if slices else None)


def _train(raw: dict[str, Any]) -> m.Train:
    runs_on = raw.get("runs_on", m.Train.runs_on)
    labels = (runs_on,) if isinstance(runs_on, str) else tuple(runs_on)
    fields = {k: v for k, v in raw.items() if k != "runs_on"}
    return m.Train(runs_on=labels, **fields)


def _split(raw: dict[str, Any]) -> m.Split:
    return m.Split(**{**raw, "key": tuple(raw.get("key", ()))})


def _deploy(raw: dict[str, Any]) -> Deploy:
    envs = tuple(_environment(e) for e in raw["environments"])
    return Deploy(
        environments=envs,
        target=raw.get("target", "rollout"),
        server=_server(raw.get("server", {})),
        metrics=_metrics(raw),
        model_timeout=float(raw.get("model_timeout", MODEL_TIMEOUT_S)),
    )


def _metrics(deploy: dict[str, Any]) -> Metrics:
    if deploy.get("service_monitor") and "metrics" not in deploy:
        return Metrics(scrape="service-monitor", alerts=True)
    return Metrics(**deploy.get("metrics", {}))


def _server(raw: dict[str, Any]) -> Server:
    buckets = tuple(float(b) for b in raw.get("prediction_buckets", ()))
    fields = {k: v for k, v in raw.items() if k not in ("prediction_buckets", "build")}
    build = _image_build(raw["build"]) if "build" in raw else None
    return Server(**fields, prediction_buckets=buckets, build=build)


def _image_build(raw: dict[str, Any]) -> ImageBuild:
    credentials = raw.get("credentials")
    fields = {k: v for k, v in raw.items() if k not in ("credentials", "requirements")}
    return ImageBuild(
        **fields,
        requirements=repo_path(raw["requirements"]),
        credentials=RegistryCredentials(**credentials) if credentials else None,
    )


def _environment(raw: dict[str, Any]) -> Environment:
    canary = raw.get("canary")
    analysis = raw.get("analysis")
    fields = {k: v for k, v in raw.items() if k not in ("canary", "analysis")}
    return Environment(
        **fields,
        canary=Canary(tuple(canary["steps"]), canary.get("pause")) if canary else None,
        analysis=Analysis(**analysis) if analysis else None,
    )


def _drift(raw: dict[str, Any]) -> m.Drift:
    features = {k: m.FeatureDrift(**v) for k, v in raw.get("features", {}).items()}
    fields = {k: v for k, v in raw.items() if k != "features"}
    if "current" in fields:
        fields["current"] = repo_path(fields["current"])
    return m.Drift(**fields, features=features)
