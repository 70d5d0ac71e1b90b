"""The repository config's rules (``mlgitops.yaml``): its branch, runner labels and
runner pools, as Git, GitHub and Kubernetes take them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlgitops.spec.positions import Key
from mlgitops.spec.values import is_number, not_finite

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at run time
if TYPE_CHECKING:
    from typing import Any

#: GitHub's hosted runner images (``ubuntu-24.04``); labels match in any case, as GitHub
#: matches them.
_HOSTED = re.compile(r"^(ubuntu|windows|macos)-", re.IGNORECASE)


_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^[-/.]|[/.]$|\.lock(/|$)|/\.")


def is_ref_name(name: str) -> bool:
    """Whether Git takes ``name`` as a ref's name (``git check-ref-format --allow-onelevel``:
    a branch, a tag, a commit SHA)."""
    return name not in ("", "@") and _BAD_REF.search(name) is None


def branch_problem(name: str) -> str | None:
    """Why ``name`` is not a branch name Git accepts (git check-ref-format); None when it is."""
    if "${{" in name or not is_ref_name(name):
        return f"invalid value {name!r}: expected a Git branch name ({REF_RULE}; no '${{{{')"
    return None


#: What Git allows in a ref's name (git check-ref-format), as messages say it.
REF_RULE = (
    "no spaces, control characters, '..', '~^:?*[\\' or '@{'; not starting with '-', '/' "
    "or '.', nor ending with '/' or '.'; no part ending in '.lock'"
)


def repo_rules(doc: dict[str, Any]) -> Iterator[tuple[list[Key], str, bool]]:
    for path in not_finite(doc, []):  # a price the comment would show as nan
        yield path, "must be a finite number (.nan and .inf are not)", False
    branch = doc.get("default_branch")
    if isinstance(branch, str):
        message = branch_problem(branch)
        if message:
            yield ["default_branch"], message, False
    runs_on = doc.get("runs_on")
    runners = doc.get("runners")
    pools = runners.get("pools") if isinstance(runners, dict) else None
    names = [p.get("name") for p in pools if isinstance(p, dict)] if isinstance(pools, list) else []
    if isinstance(runs_on, str):
        label = runs_on.strip().lower()
        if label in SELF_HOSTED_LABELS:
            yield ["runs_on"], fork_runner(f"'{runs_on}' is a label of self-hosted runners"), False
        elif label in {n.lower() for n in names if isinstance(n, str)}:
            why = f"'{runs_on}' is a runner pool of this file (runners.pools)"
            yield ["runs_on"], fork_runner(why), False
    yield from label_rules(runs_on, ["runs_on"])


#: The labels every self-hosted runner gets (GitHub's defaults), which no GitHub-hosted one
#: answers to (actionlint knows them, as it knows the hosted images).
SELF_HOSTED_LABELS = frozenset({"self-hosted", "linux", "windows", "macos", "x64", "arm", "arm64"})


def fork_runner(why: str) -> str:
    """Why ``runs_on`` may not name a self-hosted runner: ``why`` it does."""
    return (
        f"{why}: self-hosted runners must not run the jobs that run a fork's code (plan, "
        "check, report): use a GitHub-hosted runner such as 'ubuntu-24.04'"
    )


#: Why a runner label may not hold an expression.
LABEL_EXPRESSION = (
    "a runner label is used as written, never evaluated as an expression: "
    "'${{' cannot be part of it"
)


#: Why a job may not run on Windows.
NOT_WINDOWS = (
    "mlgitops' jobs run bash scripts and install into a Linux or macOS layout: run them on "
    "a Linux or macOS runner"
)


def label_rules(runs_on: Any, path: list[Key]) -> Iterator[tuple[list[Key], str, bool]]:
    """Runner labels that hold ``${{`` (the workflows quote them as text, so the label would
    be the expression's text, which no runner has), or a space (``'ubuntu-24.04 '``); and
    Windows runners: GitHub's images (``windows-2022``), and, for the train job, the label
    every self-hosted Windows runner has (for ``mlgitops.yaml: runs_on`` it names
    self-hosted runners, refused as such)."""
    labels = [(path, runs_on)] if isinstance(runs_on, str) else []
    if isinstance(runs_on, list):
        labels = [([*path, i], label) for i, label in enumerate(runs_on)]
    for where, label in labels:
        if isinstance(label, str) and "${{" in label:
            yield where, LABEL_EXPRESSION, False
        elif isinstance(label, str) and (not label.strip() or label != "".join(label.split())):
            yield where, f"runner labels hold no spaces: no runner has the label {label!r}", False
        elif isinstance(label, str) and (
            label.lower().startswith("windows-")
            or (label.lower() == "windows" and path != ["runs_on"])
        ):
            yield where, f"{label!r} is a Windows runner: {NOT_WINDOWS}", False


def runner_rules(doc: dict[str, Any]) -> Iterator[tuple[list[Key], str, bool]]:
    """``mlgitops.yaml: runners``: unique pools, sane scaling, a GitHub URL for each."""
    runners = doc.get("runners")
    pools = runners.get("pools") if isinstance(runners, dict) else None
    if not isinstance(runners, dict) or not isinstance(pools, list):
        return
    seen: dict[str, int] = {}
    for i, pool in enumerate(pools):
        if not isinstance(pool, dict):
            continue
        where: list[Key] = ["runners", "pools", i]
        name = pool.get("name")
        if isinstance(name, str) and name in seen:
            message = f"pool '{name}' is already defined at runners.pools[{seen[name]}]"
            yield [*where, "name"], message, False
        if isinstance(name, str):
            seen.setdefault(name, i)
        low, high = pool.get("min_runners", 0), pool.get("max_runners", 2)
        if is_number(low) and is_number(high) and low > high:
            yield (
                [*where, "min_runners"],
                f"min_runners ({low}) is above max_runners ({high})",
                True,
            )
        if "github_config_url" not in pool and "github_config_url" not in runners:
            message = "no GitHub URL to register with: set runners.github_config_url or this pool's github_config_url"
            yield where, message, False
        if pool.get("container_mode", "dind") != "kubernetes":
            for key in ("job_image", "work_volume_size", "storage_class"):
                if key in pool:
                    yield [*where, key], f"'{key}' applies to container_mode kubernetes only", True
        if name in RUNNER_FILES:
            message = (
                f"manifests/runners/{name}.yaml is the runners' own file: name the pool otherwise"
            )
            yield [*where, "name"], message, False
        group = pool.get("runner_group")
        if isinstance(group, str) and group and not _reads_back(group):
            message = (
                f"the runner chart writes the runner group unquoted, and YAML would not read "
                f"{group!r} back as this text: name the group with letters, digits, spaces, "
                "'.', '_' and '-', not as a number, a boolean or null"
            )
            yield [*where, "runner_group"], message, False
        yield from _toleration_rules(pool.get("tolerations"), [*where, "tolerations"])
        yield from _node_selector_rules(pool.get("node_selector"), [*where, "node_selector"])


#: The files ``manifests/runners/`` holds beside one per pool (``<pool>.yaml``).
RUNNER_FILES = ("controller", "kustomization")


def _toleration_rules(tolerations: Any, path: list[Key]) -> Iterator[tuple[list[Key], str, bool]]:
    """What the API server refuses in a toleration (the pod would never be created)."""
    if not isinstance(tolerations, list):
        return
    for i, toleration in enumerate(tolerations):
        if not isinstance(toleration, dict):
            continue
        operator = toleration.get("operator", "Equal")
        if operator == "Exists" and toleration.get("value"):
            yield [*path, i, "value"], "a toleration with operator Exists has no value", True
        if not toleration.get("key") and operator != "Exists":
            message = "a toleration without a key tolerates every taint: give operator Exists"
            yield [*path, i], message, False
        if "toleration_seconds" in toleration and toleration.get("effect") != "NoExecute":
            message = "toleration_seconds applies to effect NoExecute only"
            yield [*path, i, "toleration_seconds"], message, True
        key, value = toleration.get("key"), toleration.get("value")
        if isinstance(key, str) and key and not _label_key(key):
            yield [*path, i, "key"], f"{key!r} is not a taint's key ({_KEY_FORM})", True
        if operator != "Exists" and isinstance(value, str) and not _label_value(value):
            yield [*path, i, "value"], f"{value!r} is not a taint's value ({_VALUE_FORM})", True


#: A label's name (and a label value, which may also be empty), as Kubernetes spells them.
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


_KEY_FORM = "letters, digits, '-', '_' and '.', at most 63, after an optional DNS prefix and '/'"
_VALUE_FORM = (
    "letters, digits, '-', '_' and '.', at most 63, starting and ending with a letter or digit"
)


def _label_key(key: str) -> bool:
    """Whether Kubernetes takes ``key`` as a label's (or a taint's) key: ``[prefix/]name``."""
    prefix, slash, name = key.rpartition("/")
    good_prefix = not slash or (len(prefix) <= 253 and _LABEL_PREFIX.fullmatch(prefix))
    return bool(good_prefix and _LABEL_NAME.fullmatch(name))


def _label_value(value: str) -> bool:
    """Whether Kubernetes takes ``value`` as a label's (or a taint's) value: a name or empty."""
    return not value or bool(_LABEL_NAME.fullmatch(value))


def _node_selector_rules(selector: Any, path: list[Key]) -> Iterator[tuple[list[Key], str, bool]]:
    """Node labels Kubernetes cannot hold: a key is ``[prefix/]name``, a value a name or
    empty (the pod would never be created)."""
    if not isinstance(selector, dict):
        return
    for key, value in selector.items():
        if not isinstance(key, str):
            message = f"a node label's name is text: YAML reads this key as {key!r}, so quote it"
            yield [*path, key], message, True
        elif not _label_key(key):
            yield [*path, key], f"{key!r} is not a node label's name ({_KEY_FORM})", True
        elif isinstance(value, str) and not _label_value(value):
            yield [*path, key], f"{value!r} is not a node label's value ({_VALUE_FORM})", False


def _reads_back(text: str) -> bool:
    """Whether ``text``, written unquoted, is read back as this text in YAML."""
    from mlgitops.render.yamltext import plain_reads_back  # render imports the specs

    return plain_reads_back(text)


def is_hosted(label: Any) -> bool:
    """Whether ``label`` is one of GitHub's hosted runner images (``ubuntu-24.04``)."""
    return isinstance(label, str) and _HOSTED.match(label) is not None


def unknown_pool(runs_on: Any, pools: list[str]) -> str | None:
    """Why ``train.runs_on`` names no declared pool, or None when it is fine.

    With pools declared, a single label (a string or a one-item list) must
    name one of them, unless it is a GitHub-hosted image label: scale sets are
    addressed by their name.
    """
    labels = [runs_on] if isinstance(runs_on, str) else runs_on
    if not pools or not isinstance(labels, list) or len(labels) != 1:
        return None
    label = labels[0]
    if not isinstance(label, str) or label in pools or is_hosted(label):
        return None
    import difflib  # only on an unknown pool: keeps it off render's start-up

    hint = difflib.get_close_matches(label, pools, n=1)
    suffix = f" (did you mean '{hint[0]}'?)" if hint else f" (pools: {', '.join(pools)})"
    return f"no runner pool named '{label}' in mlgitops.yaml{suffix}"
