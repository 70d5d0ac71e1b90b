"""An environment's overlay: where its ``MODEL_URI`` and ``MODEL_DIGEST`` literals and
``model.json`` live, and, for a built serving image, the ``images`` entry that pins its
digest; for a KServe canary, the ``canaryTrafficPercent`` its InferenceService patch sets.

The model server reads both literals: it loads ``MODEL_URI`` only once the files it
downloaded have ``MODEL_DIGEST`` (``mlgitops serve``), the digest deploy checked before
it registered the model.

The edit is surgical. ruamel.yaml composes the file into nodes that carry
their exact character positions; only the text of the one ``MODEL_URI=``
scalar (and of the ``MODEL_DIGEST=`` scalar, of the image's ``digest:``
scalar, and of the number on the ``canaryTrafficPercent:`` line of the patch)
is replaced, in the quoting style it already had. Every other byte — comments, key order, indentation,
blank lines — stays as the user left it, and the result is parsed again to
prove that nothing else changed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlgitops.digest import FORM
from mlgitops.errors import BadInput
from mlgitops.spec.deploy import UNDEPLOYED_DIGEST, recorded_image, traffic_share, traffic_steps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mlgitops.results import ProvenanceRecord
    from mlgitops.spec.model import Pipeline

MODEL_URI_KEY = "MODEL_URI"
MODEL_DIGEST_KEY = "MODEL_DIGEST"
#: What ``MODEL_DIGEST=`` holds once deployed (:func:`mlgitops.digest.folder_digest`).
MODEL_DIGEST = FORM
MODEL_JSON = "model.json"
KUSTOMIZATION = "kustomization.yaml"
TRAFFIC_KEY = "canaryTrafficPercent"
_TRAFFIC_LINE = re.compile(rf"^[ \t]*{TRAFFIC_KEY}:[ \t]*(?P<share>[0-9]+)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Overlay:
    """The two files of ``manifests/<pipeline>/overlays/<environment>/`` that deploys change."""

    pipeline: str
    environment: str
    #: ``deploy.server.build.repository``: the ``images`` entry deploy pins (None: no build)
    repository: str | None = None
    #: The shares of a KServe canary, in turn (:func:`~mlgitops.spec.deploy.traffic_steps`);
    #: () where the overlay sets none
    traffic: tuple[int, ...] = ()

    @property
    def folder(self) -> str:
        return f"manifests/{self.pipeline}/overlays/{self.environment}"

    @property
    def kustomization(self) -> str:
        return f"{self.folder}/{KUSTOMIZATION}"

    @property
    def model_json(self) -> str:
        return f"{self.folder}/{MODEL_JSON}"

    @property
    def generator(self) -> str:
        """The ``configMapGenerator`` entry whose literal holds the model URI."""
        return f"{self.pipeline}-model"


def overlay_of(pipeline: Pipeline, environment: str) -> Overlay:
    """The environment's overlay, with the built image's repository when there is one."""
    build = pipeline.deploy.server.build if pipeline.deploy else None
    env = pipeline.deploy.environment(environment) if pipeline.deploy else None
    steps = traffic_steps(pipeline.deploy.target, env) if pipeline.deploy and env else ()
    return Overlay(pipeline.name, environment, build.repository if build else None, steps)


def share_of(record: ProvenanceRecord | None, overlay: Overlay) -> int | None:
    """The ``canaryTrafficPercent`` the overlay sets where ``record`` is its ``model.json``
    (:func:`~mlgitops.spec.deploy.traffic_share`); None where it sets none."""
    return traffic_share(record.traffic_percent if record else None, overlay.traffic)


def registered_uri(model_name: str, version: str) -> str:
    """``models:/<name>/<version>``: the URI an overlay points at once deployed."""
    return f"models:/{model_name}/{version}"


def placeholder_uri(model_name: str, environment: str) -> str:
    """``models:/<name>@<env>``: what a rendered overlay holds before its first deploy."""
    return f"models:/{model_name}@{environment}"


def read_model_uri(text: str, overlay: Overlay) -> str:
    """The URI after ``MODEL_URI=`` in the overlay's kustomization text."""
    return _literal_value(_literal_node(text, overlay, MODEL_URI_KEY))  # type: ignore[return-value]


def read_model_digest(text: str, overlay: Overlay) -> str | None:
    """The digest after ``MODEL_DIGEST=`` ("" before the first deploy); None where the
    overlay has no such literal (rendered before the model server checked digests)."""
    return _literal_value(_literal_node(text, overlay, MODEL_DIGEST_KEY, required=False))


def model_lines_problem(text: str, overlay: Overlay, record: ProvenanceRecord | None) -> str | None:
    """What the overlay's model lines (``MODEL_URI=``, ``MODEL_DIGEST=``, a built image's
    ``digest:``) name that its record, ``model.json`` beside it (``record``: its
    :class:`~mlgitops.results.ProvenanceRecord`, None where there is none: the environment's
    alias, no digest, no image), does not; None where they agree.

    Deploy, promote and rollback write the lines and the record in one commit. Argo CD
    serves the lines while reviews and deploys judge the record, so lines edited by hand
    would ship a model nobody reviewed."""
    if record is None:
        uri, digest, image = placeholder_uri(overlay.pipeline, overlay.environment), "", None
    else:
        uri, digest = record.model_uri, record.model_digest
        image = recorded_image(record.image, overlay.repository)
    found: list[tuple[str, str | None, str | None]] = [
        (MODEL_URI_KEY, read_model_uri(text, overlay), uri),
        (MODEL_DIGEST_KEY, read_model_digest(text, overlay), digest),
    ]
    if overlay.repository is not None:
        found.append(("the image", read_image(text, overlay), image))
    if overlay.traffic:
        held_share, share = read_traffic(text, overlay), share_of(record, overlay)
        found.append((TRAFFIC_KEY, _shown(held_share), _shown(share)))
    for key, held, wanted in found:
        if held != wanted and not (key == MODEL_DIGEST_KEY and held is None):
            recorded = (
                f"no {MODEL_JSON} beside it records a deploy to {overlay.environment}"
                if record is None
                else f"{MODEL_JSON} beside it records {wanted or 'none'}"
            )
            return (
                f"{overlay.kustomization}: {key} is {held or 'empty'}, but {recorded}: only "
                "deploy, promote and rollback change what an environment runs (Argo CD would "
                "serve a model nobody reviewed); `mlgitops render` writes the lines the record "
                "names"
            )
    return None


def _shown(share: int | None) -> str | None:
    return None if share is None else str(share)


def read_traffic(text: str, overlay: Overlay) -> int | None:
    """The ``canaryTrafficPercent`` the overlay's InferenceService patch sets; None where it
    sets none."""
    return _traffic(text, overlay)[1]


def _traffic(text: str, overlay: Overlay) -> tuple[Any, int | None]:
    """The InferenceService patch's scalar node, and the whole number it sets as
    ``canaryTrafficPercent`` (None where there is no such patch, or it sets none)."""
    node = _traffic_patch(text, overlay)
    share = None if node is None else _patch_share(str(node.value))
    return node, share if isinstance(share, int) and not isinstance(share, bool) else None


def set_traffic(text: str, overlay: Overlay, share: int) -> str:
    """The kustomization text with the InferenceService patch's ``canaryTrafficPercent`` set to
    ``share``; all else kept."""
    if not 0 < share <= 100:
        raise BadInput(f"{overlay.kustomization}: invalid {TRAFFIC_KEY} {share!r}")
    node, held = _traffic(text, overlay)
    if node is None or held is None:
        raise BadInput(
            f"{overlay.kustomization}: no patch of the InferenceService {overlay.pipeline!r} "
            f"sets {TRAFFIC_KEY}; run `mlgitops render`"
        )
    start, end = node.start_mark.index, node.end_mark.index
    lines = list(_TRAFFIC_LINE.finditer(text, start, end))
    if len(lines) != 1 or held != int(lines[0]["share"]):
        raise BadInput(
            f"{overlay.kustomization}: write the InferenceService patch's {TRAFFIC_KEY} on "
            "a line of its own, once; run `mlgitops render`"
        )
    if int(lines[0]["share"]) == share:
        return text
    new_text = text[: lines[0].start("share")] + str(share) + text[lines[0].end("share") :]
    if read_traffic(new_text, overlay) != share or not _same_but(
        text, new_text, lambda doc: _mask_traffic(doc, overlay)
    ):
        raise BadInput(f"{overlay.kustomization}: could not rewrite {TRAFFIC_KEY} in place")
    return new_text


def _traffic_patch(text: str, overlay: Overlay) -> Any:
    """The scalar node of the patch whose target is the pipeline's InferenceService; None
    where there is none."""
    patches = _mapping_get(_compose(text, overlay), "patches")
    for entry in patches.value if patches is not None and patches.tag.endswith(":seq") else []:
        target, patch = _mapping_get(entry, "target"), _mapping_get(entry, "patch")
        kind, name = _mapping_get(target, "kind"), _mapping_get(target, "name")
        if (
            kind is not None
            and kind.value == "InferenceService"
            and name is not None
            and name.value == overlay.pipeline
            and patch is not None
            and patch.tag.endswith(":str")
        ):
            return patch
    return None


def _patch_share(patch: str) -> object:
    """What the patch's ``spec.predictor.canaryTrafficPercent`` holds (None: nothing)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        doc = YAML(typ="safe").load(patch)
    except YAMLError:
        return None
    spec = doc.get("spec") if isinstance(doc, dict) else None
    predictor = spec.get("predictor") if isinstance(spec, dict) else None
    return predictor.get(TRAFFIC_KEY) if isinstance(predictor, dict) else None


def _mask_traffic(doc: Any, overlay: Overlay) -> None:
    from ruamel.yaml import YAML

    for entry in doc["patches"]:
        target = entry.get("target") if isinstance(entry, dict) else None
        if isinstance(target, dict) and (target.get("kind"), target.get("name")) == (
            "InferenceService",
            overlay.pipeline,
        ):
            patch = YAML(typ="safe").load(entry["patch"])
            patch["spec"]["predictor"][TRAFFIC_KEY] = "<share>"
            entry["patch"] = patch


def literal_line(text: str, overlay: Overlay, key: str) -> int | None:
    """The line number (from 1) of the ``<key>=`` literal; None where there is none."""
    node = _literal_node(text, overlay, key, required=False)
    return None if node is None else int(node.start_mark.line) + 1


def set_model_uri(text: str, overlay: Overlay, uri: str) -> str:
    """The kustomization text with the ``MODEL_URI=`` literal set to ``uri``; all else kept."""
    if not uri or any(c.isspace() for c in uri):
        raise BadInput(f"{overlay.kustomization}: invalid model URI {uri!r}")
    return _set_literal(text, overlay, MODEL_URI_KEY, uri)


def set_model_digest(text: str, overlay: Overlay, digest: str) -> str:
    """The kustomization text with the ``MODEL_DIGEST=`` literal set to ``digest``; all
    else kept. Unchanged where the overlay has no such literal (see :func:`read_model_digest`)."""
    if digest and not MODEL_DIGEST.fullmatch(digest):
        raise BadInput(f"{overlay.kustomization}: invalid model digest {digest!r}")
    if _literal_node(text, overlay, MODEL_DIGEST_KEY, required=False) is None:
        return text
    return _set_literal(text, overlay, MODEL_DIGEST_KEY, digest)


def _literal_value(node: Any) -> str | None:
    return None if node is None else str(node.value).split("=", 1)[1]


def _set_literal(text: str, overlay: Overlay, key: str, value: str) -> str:
    node = _literal_node(text, overlay, key)
    start, end = node.start_mark.index, node.end_mark.index
    literal = f"{key}={value}"
    if node.value == literal:
        return text
    new_text = text[:start] + _token(literal, node.style) + text[end:]
    if _literal_value(_literal_node(new_text, overlay, key)) != value or not _same_but(
        text, new_text, lambda doc: _mask_literal(doc, overlay, key)
    ):
        raise BadInput(f"{overlay.kustomization}: could not rewrite {key}= in place")
    return new_text


#: ``repository@sha256:<hex>``: an image pinned by digest and nothing else (no tag).
IMAGE_REF = re.compile(r"(?P<repository>[a-z0-9][a-z0-9._/:-]*)@(?P<digest>sha256:[0-9a-f]{64})")


def read_image(text: str, overlay: Overlay) -> str | None:
    """The ``repository@digest`` the overlay pins; None before the first deploy."""
    digest = _digest_node(text, overlay).value
    return None if digest == UNDEPLOYED_DIGEST else f"{overlay.repository}@{digest}"


def set_image(text: str, overlay: Overlay, image: str) -> str:
    """The kustomization text with the image's ``digest:`` set to ``image``'s; all else kept."""
    found = IMAGE_REF.fullmatch(image)
    if found is None or found["repository"] != overlay.repository:
        raise BadInput(f"{overlay.kustomization}: {image!r} is not {overlay.repository}@<digest>")
    node = _digest_node(text, overlay)
    if node.value == found["digest"]:
        return text
    start, end = node.start_mark.index, node.end_mark.index
    new_text = text[:start] + _token(found["digest"], node.style) + text[end:]
    if read_image(new_text, overlay) != image or not _same_but(
        text, new_text, lambda doc: _mask_digest(doc, overlay)
    ):
        raise BadInput(f"{overlay.kustomization}: could not rewrite the image digest in place")
    return new_text


def _digest_node(text: str, overlay: Overlay) -> Any:
    """The scalar node of the ``digest:`` of the ``images`` entry named the repository."""
    images = _mapping_get(_compose(text, overlay), "images")
    entries = images.value if images is not None and images.tag.endswith(":seq") else []
    for entry in entries:
        name = _mapping_get(entry, "name")
        digest = _mapping_get(entry, "digest")
        if name is not None and name.value == overlay.repository and _one_line(digest):
            return digest
    raise BadInput(
        f"{overlay.kustomization}: no images entry pins {overlay.repository} by digest "
        "(name: and digest: on one line each); run `mlgitops render`"
    )


def _one_line(node: Any) -> bool:
    return (
        node is not None
        and node.tag.endswith(":str")
        and node.style in (None, "'", '"')
        and node.start_mark.line == node.end_mark.line
    )


def _token(value: str, style: str | None) -> str:
    """``value`` written as a YAML scalar in the old ``style`` (plain, ' or ")."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or not _plain_safe(value):
        return json.dumps(value)
    return value


def _plain_safe(value: str) -> bool:
    return (
        value[:1].isalnum()
        and ": " not in value
        and " #" not in value
        and not any(c in value for c in ",[]{}\"'")
    )


def _literal_node(text: str, overlay: Overlay, key: str, *, required: bool = True) -> Any:
    """The scalar node of the one ``<key>=`` literal of the overlay's generator; None
    where there is none and it is not ``required``."""
    root = _compose(text, overlay)
    entry = _generator_entry(root, overlay)
    literals = _mapping_get(entry, "literals")
    hits = []
    if literals is not None and literals.tag.endswith(":seq"):
        hits = [
            n
            for n in literals.value
            if n.tag.endswith(":str") and str(n.value).startswith(f"{key}=")
        ]
    if not hits and not required:
        return None
    if len(hits) != 1:
        raise BadInput(
            f"{overlay.kustomization}: the configMapGenerator {overlay.generator!r} must hold "
            f"exactly one {key}= literal (found {len(hits)}); run `mlgitops render`"
        )
    node = hits[0]
    if node.style not in (None, "'", '"') or node.start_mark.line != node.end_mark.line:
        raise BadInput(
            f"{overlay.kustomization}:{node.start_mark.line + 1}:{node.start_mark.column + 1}: "
            f"write the {key}= literal on one line (plain or quoted)"
        )
    return node


def _compose(text: str, overlay: Overlay) -> Any:
    from ruamel.yaml.error import YAMLError

    try:
        root = _composed(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BadInput(f"{overlay.kustomization}{where}: not valid YAML ({problem})") from exc
    if root is None or not root.tag.endswith(":map"):
        raise BadInput(f"{overlay.kustomization}: not a Kustomization (expected a mapping)")
    return root


@functools.lru_cache(maxsize=16)
def _composed(text: str) -> Any:
    """ruamel.yaml's node tree of ``text``, composed once: a deploy reads and checks the
    same kustomization text for each of its literals, and composing it takes milliseconds.
    The nodes are only read, never changed."""
    from ruamel.yaml import YAML

    return YAML(typ="rt").compose(text)


def _mapping_get(node: Any, key: str) -> Any:
    if node is None or not node.tag.endswith(":map"):
        return None
    for key_node, value_node in node.value:
        if key_node.value == key:
            return value_node
    return None


def _generator_entry(root: Any, overlay: Overlay) -> Any:
    generators = _mapping_get(root, "configMapGenerator")
    entries = generators.value if generators is not None and generators.tag.endswith(":seq") else []
    for entry in entries:
        name = _mapping_get(entry, "name")
        if name is not None and name.value == overlay.generator:
            return entry
    raise BadInput(
        f"{overlay.kustomization}: no configMapGenerator named {overlay.generator!r}; "
        "run `mlgitops render`"
    )


def _same_but(old: str, new: str, mask: Callable[[Any], None]) -> bool:
    """Whether both texts parse to the same document once ``mask`` blanks the edited value."""
    from ruamel.yaml import YAML

    before, after = YAML(typ="safe").load(old), YAML(typ="safe").load(new)
    for doc in (before, after):
        mask(doc)
    return bool(before == after)


def _mask_literal(doc: Any, overlay: Overlay, key: str) -> None:
    for entry in doc["configMapGenerator"]:
        if isinstance(entry, dict) and entry.get("name") == overlay.generator:
            entry["literals"] = [
                "<value>" if str(v).startswith(f"{key}=") else v for v in entry["literals"]
            ]


def _mask_digest(doc: Any, overlay: Overlay) -> None:
    for entry in doc["images"]:
        if isinstance(entry, dict) and entry.get("name") == overlay.repository:
            entry["digest"] = "<digest>"
