"""What ``render`` checks beyond the spec's text: the files and classes it refers to.

Every repository path a spec names must exist (data unless a URL — a
DVC-tracked file counts when its ``.dvc`` file is there —, the schema, the
test data, ``model.code``, the scripts ``model.command`` runs, drift's
current data). For ``model.estimator``, the module must be findable and the
class defined in it, without importing anything: ``render`` runs on a light
install that has no scikit-learn and must not load it. So:

- the top-level package is looked up with :func:`importlib.util.find_spec`
  (which does not import a top-level module), in the repository first; when
  it is not installed here nothing more can be said (``train`` checks it),
  unless its name is a near miss of a well-known one (``skleran``);
- submodules are found on disk under the package's folders;
- class names are read from the module's source with :mod:`ast` (classes,
  imported names, ``__all__``); a module without source, or one that makes
  names on demand (a module ``__getattr__``), is not second-guessed.
"""

from __future__ import annotations

import importlib.util
import posixpath
from collections.abc import Iterator, Mapping
from pathlib import Path

from mlgitops import fsio
from mlgitops.errors import Problem
from mlgitops.spec.loader import problem_in
from mlgitops.spec.locks import installs, lock_problems
from mlgitops.spec.model import command_words, is_url
from mlgitops.spec.positions import Key, dotted, locate

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    import ast
    from typing import Any

#: Estimator packages whose near misses are typos, not unknown packages.
WELL_KNOWN = ("sklearn", "xgboost", "lightgbm", "catboost")
_SCRIPTS = (".py", ".R", ".r", ".jl", ".sh")


def reference_problems(root: Path, source: str, doc: Any) -> list[Problem]:
    """Every missing file and unknown estimator a spec document names, and every line of
    the serving image's requirements that pip would refuse.

    The document may break the schema elsewhere: what is not where the schema
    puts it is left to the schema's own problems.
    """
    found = []
    named = [*_files(root, doc), *_estimator(root, doc), *_lock(root, doc)]
    for path, message in named:
        line, col = locate(doc, path)
        found.append(Problem(source, line, col, f"{dotted(path)}: {message}"))
    found += _lock_lines(root, doc)
    return found


def action_problems(root: Path, action: str, source: str, text: str) -> list[Problem]:
    """The repository config's ``action`` (in ``source``, read as ``text``) as a path in
    the repository (``./…``) that holds no Action: every generated job would fail at its
    first step on GitHub."""
    if not action.startswith("./"):
        return []
    folder = root / action
    if any((folder / name).is_file() for name in ("action.yml", "action.yaml")):
        return []
    message = f"action: {action!r} holds no action.yml in the repository"
    return [problem_in(source, text, ["action"], message)]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _lock_path(doc: Any) -> str | None:
    """``deploy.server.build.requirements``, when it is a path inside the repository."""
    server = _mapping(_mapping(_mapping(doc).get("deploy")).get("server"))
    rel = _mapping(server.get("build")).get("requirements")
    if not isinstance(rel, str) or not rel:
        return None
    rel = posixpath.normpath(rel)
    return None if rel.startswith(("/", "..")) else rel  # checks.py reports an escape


def _lock(root: Path, doc: Any) -> Iterator[tuple[list[Key], str]]:
    """The serving image's requirements file: there, and installing mlgitops."""
    rel = _lock_path(doc)
    if rel is None:
        return
    where: list[Key] = ["deploy", "server", "build", "requirements"]
    text = _text(root / rel)
    if text is None:
        yield where, f"'{rel}' does not exist in the repository{_near(root, rel)}"
    elif not installs(text, "mlgitops"):
        yield (
            where,
            (
                f"'{rel}' does not install mlgitops, which the container runs (`mlgitops serve`): "
                "add mlgitops[serve]==<version> with its hashes"
            ),
        )


def _lock_lines(root: Path, doc: Any) -> list[Problem]:
    rel = _lock_path(doc)
    text = _text(root / rel) if rel is not None else None
    return lock_problems(rel, text) if rel is not None and text is not None else []


def _text(path: Path) -> str | None:
    try:
        return path.read_text("utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


def _files(root: Path, doc: Any) -> Iterator[tuple[list[Key], str]]:
    doc = _mapping(doc)
    data, model, drift = _mapping(doc.get("data")), _mapping(doc.get("model")), doc.get("drift")
    drift = _mapping(drift)
    named: list[tuple[list[Key], Any]] = [
        (["data", key], data.get(key)) for key in ("path", "schema", "test_path")
    ]
    code = model.get("code")
    if isinstance(code, list):
        named += [(["model", "code", i], rel) for i, rel in enumerate(code)]
    named.append((["drift", "current"], drift.get("current")))
    for path, rel in named:
        if not isinstance(rel, str) or is_url(rel):
            continue
        if (long := fsio.too_long(rel)) is not None:
            yield path, long
        elif not _exists(root, rel):
            yield path, absent(root, rel)
        elif path[0] == "data" and (root / rel).is_dir():  # data and schemas are files
            yield path, f"'{rel}' is a folder, not a file"
        elif path[0] != "model" and fsio.leaves(root, root / rel):
            yield path, f"'{rel}' is {fsio.OUTSIDE}"
    command = model.get("command")
    if isinstance(command, str):
        for script in _scripts(command):
            if (long := fsio.too_long(script)) is not None:
                yield ["model", "command"], f"runs '{script[:40]}…': {long}"
            elif not (root / script).is_file():
                yield (
                    ["model", "command"],
                    f"runs '{script}', which does not exist in the repository",
                )


def absent(root: Path, rel: str) -> str:
    """What a spec's problem says of a path ``rel`` that is not in the repository."""
    return f"'{rel}' does not exist in the repository{_near(root, rel)}"


def _near(root: Path, rel: str) -> str:
    """`` (did you mean '…'?)`` naming a file of the same folder with a close name."""
    folder = (root / rel).parent
    if not folder.is_dir():
        return ""
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    hint = _closest(Path(rel).name, names, n=1)
    if not hint:
        return ""
    return f" (did you mean '{(Path(rel).parent / hint[0]).as_posix()}'?)"


def _exists(root: Path, rel: str) -> bool:
    return (root / rel).exists() or (root / f"{rel}.dvc").is_file()


def _scripts(command: str) -> list[str]:
    """The repository scripts a command names (``python src/train.py --x 1`` -> src/train.py)."""
    try:
        words = command_words(command)
    except ValueError:
        return []  # the spec check says why it does not split
    return [
        w for w in words if w.endswith(_SCRIPTS) and not w.startswith(("-", "/")) and "=" not in w
    ]


def _estimator(root: Path, doc: Any) -> Iterator[tuple[list[Key], str]]:
    estimator = _mapping(_mapping(doc).get("model")).get("estimator")
    if not isinstance(estimator, str) or "." not in estimator:
        return
    module, _, name = estimator.rpartition(".")
    message = estimator_problem(root, module, name)
    if message:
        yield ["model", "estimator"], message


def estimator_problem(root: Path, module: str, name: str) -> str | None:
    """Why ``module.name`` cannot be the estimator, as far as can be told without importing."""
    parts = module.split(".")
    folders = _top_level(root, parts[0])
    if folders is None:
        hint = _closest(parts[0], WELL_KNOWN, n=1)
        if hint and hint[0] != parts[0]:
            return f"no module named '{parts[0]}' (did you mean '{hint[0]}'?)"
        return None  # not installed here (a light install): train checks it
    source: Path | None = None
    for depth, part in enumerate(parts[1:], start=2):
        found = _submodule(folders, part)
        if found is None:
            return _no_submodule(folders, parts[:depth])
        folders, source = found
    if len(parts) == 1:
        source = _package_source(root, parts[0])
    return _class_problem(source, module, name)


def _top_level(root: Path, top: str) -> list[Path] | None:
    """The folders to look for submodules in; [] for a single-file module; None: not found."""
    local = root / top
    if local.is_dir():
        return [local]
    if (root / f"{top}.py").is_file():
        return []
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    return [Path(p) for p in spec.submodule_search_locations or []]


def _package_source(root: Path, top: str) -> Path | None:
    for candidate in (root / top / "__init__.py", root / f"{top}.py"):
        if candidate.is_file():
            return candidate
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec else None
    return Path(origin) if origin and origin.endswith(".py") else None


def _submodule(folders: list[Path], part: str) -> tuple[list[Path], Path | None] | None:
    """A submodule ``part`` in one of ``folders``: its own folders and its source file."""
    for folder in folders:
        if (folder / part).is_dir():
            init = folder / part / "__init__.py"
            return [folder / part], init if init.is_file() else None
        if (folder / f"{part}.py").is_file():
            return [], folder / f"{part}.py"
        if any(folder.glob(f"{part}.*.so")) or any(folder.glob(f"{part}.*.pyd")):
            return [], None  # compiled: no source to read
    return None


def _no_submodule(folders: list[Path], parts: list[str]) -> str:
    names = sorted(
        {p.name.split(".")[0] for f in folders for p in f.iterdir() if not p.name.startswith("_")}
        if folders
        else set()
    )
    hint = _closest(parts[-1], names, n=1)
    suffix = f" (did you mean '{'.'.join([*parts[:-1], hint[0]])}'?)" if hint else ""
    return f"no module named '{'.'.join(parts)}'{suffix}"


def _class_problem(source: Path | None, module: str, name: str) -> str | None:
    if source is None:
        return None
    defined = _module_names(source)
    if defined is None:
        return None
    names, dynamic = defined
    if name in names or dynamic:
        return None
    public = sorted(n for n in names if not n.startswith("_"))
    hint = _closest(name, public, n=1)
    suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
    return f"module '{module}' has no class '{name}'{suffix}"


#: What each module source parsed so far defines, by its text: specs of one repository
#: mostly name the same few estimators.
_READ: dict[bytes, tuple[set[str], bool]] = {}


def _module_names(source: Path) -> tuple[set[str], bool] | None:
    """What :func:`_defined_names` finds in ``source``; None where it cannot be parsed."""
    try:
        text = source.read_bytes()
    except OSError:
        return None
    if text not in _READ:
        tree = _parse(text, str(source))
        if tree is None:
            return None
        _READ[text] = _defined_names(tree)
    return _READ[text]


def _parse(text: bytes, name: str) -> ast.Module | None:
    """``ast.parse(text)``; None where it is not Python, or nests deeper than the parser
    goes (a generated table: RecursionError, MemoryError). Only where the estimator's source
    is here (a light install has none), through ``_ast``: the parser's node classes without
    ast.py's helpers, whose import took longer than the parse."""
    import _ast

    try:
        tree = compile(text, name, "exec", _ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return tree if isinstance(tree, _ast.Module) else None  # "exec" mode: always a Module


def _defined_names(tree: ast.Module) -> tuple[set[str], bool]:
    """Names a module defines at top level, and whether it makes more on demand."""
    import _ast as ast

    names: set[str] = set()
    dynamic = False
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
            dynamic = dynamic or node.name == "__getattr__"
        elif isinstance(node, ast.Import | ast.ImportFrom):
            dynamic = dynamic or any(a.name == "*" for a in node.names)
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
            names.update(_all_names(node))
        elif isinstance(node, ast.If | ast.Try):
            dynamic = True  # conditional definitions: do not guess
    return names, dynamic


def _all_names(node: ast.Assign | ast.AnnAssign) -> set[str]:
    import _ast as ast

    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
        return set()
    value = node.value
    if isinstance(value, ast.List | ast.Tuple):
        return {
            e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        }
    return set()


def _closest(word: str, names: Any, n: int = 1) -> list[str]:
    """The names nearest ``word`` (difflib's): imported for a problem found, not for a spec
    without one."""
    import difflib

    return difflib.get_close_matches(word, names, n=n)
