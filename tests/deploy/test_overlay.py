"""The overlay edit: exactly the MODEL_URI and MODEL_DIGEST literals (the image's digest,
a KServe canary's share) change, everything else stays."""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path

import pytest

from mlgitops.errors import BadInput
from mlgitops.gitops.overlay import (
    Overlay,
    model_lines_problem,
    read_image,
    read_model_digest,
    read_model_uri,
    read_traffic,
    set_image,
    set_model_digest,
    set_model_uri,
    set_traffic,
)
from mlgitops.results import ProvenanceRecord
from tests.deploy.world import World

OVERLAY = Overlay("churn", "staging")

HAND_WRITTEN = """\
# Our staging overlay. Keep the namespace first: the platform team's linter wants it.
namespace: ml-staging   # pinned by the platform team
kind: Kustomization
apiVersion: kustomize.config.k8s.io/v1beta1

configMapGenerator:
# the model that serves; mlgitops changes this line
- name: churn-model
  literals:
  - FEATURE_FLAGS=a,b   # unrelated
  - "MODEL_URI=models:/churn/6"  # deployed by mlgitops
  - 'OTHER=x'
- name: churn-extra
  literals: [MODEL_URI=not-this-one]
resources:
- ../../base
"""


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


DIGEST = "sha256:" + "5d" * 32


def test_only_the_literal_lines_of_a_rendered_overlay_change(world: World) -> None:
    rel = f"manifests/{world.name}/overlays/staging/kustomization.yaml"
    before = (world.work / rel).read_text("utf-8")
    overlay = Overlay(world.name, "staging")
    assert (read_model_uri(before, overlay), read_model_digest(before, overlay)) == (
        f"models:/{world.name}@staging",
        "",
    )
    after = set_model_uri(before, overlay, f"models:/{world.name}/7")
    after = set_model_digest(after, overlay, DIGEST)
    assert changed_lines(before, after) == [
        f"-      - MODEL_URI=models:/{world.name}@staging",
        "-      - MODEL_DIGEST=",
        f"+      - MODEL_URI=models:/{world.name}/7",
        f"+      - MODEL_DIGEST={DIGEST}",
    ]
    assert read_model_digest(after, overlay) == DIGEST


def test_the_digest_literal_keeps_its_style_and_an_overlay_without_one_is_left_as_it_is() -> None:
    assert read_model_digest(HAND_WRITTEN, OVERLAY) is None
    assert set_model_digest(HAND_WRITTEN, OVERLAY, DIGEST) is HAND_WRITTEN
    quoted = HAND_WRITTEN.replace("  - 'OTHER=x'", "  - 'MODEL_DIGEST='  # the files' digest")
    after = set_model_digest(quoted, OVERLAY, DIGEST)
    assert after == quoted.replace("'MODEL_DIGEST='", f"'MODEL_DIGEST={DIGEST}'")
    assert read_model_digest(after, OVERLAY) == DIGEST
    assert set_model_digest(after, OVERLAY, "") == quoted
    with pytest.raises(BadInput, match=r"invalid model digest 'sha256:00'$"):
        set_model_digest(quoted, OVERLAY, "sha256:00")
    twice = quoted.replace("  - FEATURE_FLAGS=a,b", "  - MODEL_DIGEST=")
    with pytest.raises(BadInput, match=r"exactly one MODEL_DIGEST= literal \(found 2\)"):
        set_model_digest(twice, OVERLAY, DIGEST)


def test_comments_key_order_indentation_and_quoting_survive() -> None:
    after = set_model_uri(HAND_WRITTEN, OVERLAY, "models:/churn/7")
    assert after == HAND_WRITTEN.replace(
        '"MODEL_URI=models:/churn/6"', '"MODEL_URI=models:/churn/7"'
    )
    assert read_model_uri(after, OVERLAY) == "models:/churn/7"


def test_single_quoted_and_flow_style_literals_keep_their_style() -> None:
    single = "configMapGenerator:\n  - name: churn-model\n    literals: ['MODEL_URI=models:/churn@staging', B=1]\n"
    after = set_model_uri(single, OVERLAY, "models:/churn/3")
    assert after == single.replace("models:/churn@staging", "models:/churn/3")


def test_setting_the_same_uri_returns_the_text_unchanged() -> None:
    assert set_model_uri(HAND_WRITTEN, OVERLAY, "models:/churn/6") is HAND_WRITTEN


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "configMapGenerator:\n  - name: other\n    literals: [MODEL_URI=x]\n",
            "manifests/churn/overlays/staging/kustomization.yaml: no configMapGenerator named "
            "'churn-model'; run `mlgitops render`",
        ),
        (
            "configMapGenerator:\n  - name: churn-model\n    literals: [MODEL_URI=a, MODEL_URI=b]\n",
            "manifests/churn/overlays/staging/kustomization.yaml: the configMapGenerator "
            "'churn-model' must hold exactly one MODEL_URI= literal (found 2); run `mlgitops render`",
        ),
        (
            "configMapGenerator:\n  - name: churn-model\n    literals:\n      - |\n        MODEL_URI=a\n",
            "manifests/churn/overlays/staging/kustomization.yaml:4:9: write the MODEL_URI= "
            "literal on one line (plain or quoted)",
        ),
        (
            "configMapGenerator:\n  - name: churn-model\n   literals: [MODEL_URI=a]\n",
            "manifests/churn/overlays/staging/kustomization.yaml:3:4: not valid YAML "
            "(expected <block end>, but found '<block mapping start>')",
        ),
        (
            "- just a list\n",
            "manifests/churn/overlays/staging/kustomization.yaml: not a Kustomization "
            "(expected a mapping)",
        ),
    ],
    ids=["no-generator", "two-literals", "block-scalar", "bad-yaml", "not-a-mapping"],
)
def test_unusable_overlays_are_refused_with_the_place(text: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        set_model_uri(text, OVERLAY, "models:/churn/7")
    assert str(caught.value) == message


def test_the_text_is_composed_once_for_every_read_of_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deploy reads each literal of the same kustomization text, and checks them against
    the record: ruamel.yaml composes that text once (milliseconds a time), and an edited
    text anew. A text that does not parse is refused at every read, with its place."""
    from ruamel.yaml import YAML

    composed: list[str] = []
    compose = YAML.compose
    monkeypatch.setattr(
        YAML, "compose", lambda self, text: composed.append(text) or compose(self, text)
    )
    text = HAND_WRITTEN.replace("OTHER=x", "OTHER=composed-once")  # no other test's text
    assert (read_model_uri(text, OVERLAY), read_model_digest(text, OVERLAY)) == (
        "models:/churn/6",
        None,
    )
    assert model_lines_problem(text, OVERLAY, None) is not None  # its lines name version 6
    assert composed == [text]
    edited = set_model_uri(text, OVERLAY, "models:/churn/7")
    assert read_model_uri(edited, OVERLAY) == "models:/churn/7"
    assert composed == [text, edited]
    broken = "configMapGenerator:\n  - name: churn-model\n   literals: [MODEL_URI=a]\n"
    for _ in range(2):
        with pytest.raises(BadInput, match=r"kustomization.yaml:3:4: not valid YAML"):
            read_model_uri(broken, OVERLAY)
    assert composed == [text, edited, broken, broken]


def test_a_uri_with_spaces_is_refused() -> None:
    with pytest.raises(BadInput, match=r"invalid model URI 'models:/churn/7 8'$"):
        set_model_uri(HAND_WRITTEN, OVERLAY, "models:/churn/7 8")


def test_paths_of_an_overlay() -> None:
    assert OVERLAY.kustomization == "manifests/churn/overlays/staging/kustomization.yaml"
    assert OVERLAY.model_json == "manifests/churn/overlays/staging/model.json"
    assert Path(OVERLAY.folder).name == "staging"


# --- the built serving image's digest ------------------------------------------------------

BUILT = Overlay("churn", "staging", "ghcr.io/acme/serve")
OLD, NEW = "sha256:" + "0" * 64, "sha256:" + "c3" * 32
WITH_IMAGES = f"""\
resources: [../../base]
images:   # pinned by mlgitops deploy
- name: ghcr.io/acme/sidecar
  digest: sha256:{"d4" * 32}
- digest: '{OLD}'  # the first deploy sets it
  name: ghcr.io/acme/serve
configMapGenerator:
- name: churn-model
  literals: [MODEL_URI=models:/churn@staging]
"""


def test_only_the_digest_changes_in_the_style_it_had() -> None:
    assert read_image(WITH_IMAGES, BUILT) is None  # nothing deployed yet
    after = set_image(WITH_IMAGES, BUILT, f"ghcr.io/acme/serve@{NEW}")
    assert changed_lines(WITH_IMAGES, after) == [
        f"-- digest: '{OLD}'  # the first deploy sets it",
        f"+- digest: '{NEW}'  # the first deploy sets it",
    ]
    assert read_image(after, BUILT) == f"ghcr.io/acme/serve@{NEW}"
    assert set_image(after, BUILT, f"ghcr.io/acme/serve@{NEW}") is after


@pytest.mark.parametrize(
    ("text", "image", "message"),
    [
        (
            "images:\n- name: ghcr.io/acme/other\n  digest: sha256:" + "0" * 64 + "\n",
            f"ghcr.io/acme/serve@{NEW}",
            "manifests/churn/overlays/staging/kustomization.yaml: no images entry pins "
            "ghcr.io/acme/serve by digest (name: and digest: on one line each); run "
            "`mlgitops render`",
        ),
        (
            WITH_IMAGES,
            f"ghcr.io/acme/sidecar@{NEW}",
            "manifests/churn/overlays/staging/kustomization.yaml: 'ghcr.io/acme/sidecar@"
            f"{NEW}' is not ghcr.io/acme/serve@<digest>",
        ),
    ],
    ids=["no-entry", "another-repository"],
)
def test_an_image_the_overlay_cannot_pin_is_refused(text: str, image: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        set_image(text, BUILT, image)
    assert str(caught.value) == message


KSERVE = Overlay("fraud", "production", traffic=(20, 60, 100))
WITH_SHARE = """\
# kept
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
patches:
  - target: {group: serving.kserve.io, version: v1beta1, kind: InferenceService, name: fraud}
    patch: |
      apiVersion: serving.kserve.io/v1beta1
      kind: InferenceService
      metadata:
        name: fraud
      spec:
        predictor:
          minReplicas: 4   # four
          canaryTrafficPercent: 20
configMapGenerator:
  - name: fraud-model
    literals:
      - MODEL_URI=models:/fraud/3
      - MODEL_DIGEST=
"""


def test_only_the_number_of_the_share_changes() -> None:
    assert read_traffic(WITH_SHARE, KSERVE) == 20
    after = set_traffic(WITH_SHARE, KSERVE, 60)
    assert changed_lines(WITH_SHARE, after) == [
        "-          canaryTrafficPercent: 20",
        "+          canaryTrafficPercent: 60",
    ]
    assert read_traffic(after, KSERVE) == 60
    assert set_traffic(after, KSERVE, 60) is after
    assert read_traffic(WITH_SHARE, Overlay("other", "production", traffic=(20, 100))) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (WITH_SHARE.replace("          canaryTrafficPercent: 20\n", ""), "no patch of the"),
        (
            WITH_SHARE.replace(
                "predictor:\n          minReplicas: 4   # four\n          canaryTrafficPercent: 20",
                "predictor: {minReplicas: 4, canaryTrafficPercent: 20}",
            ),
            "on a line of its own, once",
        ),
        (
            WITH_SHARE.replace(
                "name: fraud\n      spec:",
                "name: fraud\n        canaryTrafficPercent: 20\n      spec:",
            ),
            "on a line of its own, once",
        ),
    ],
    ids=["none", "in a flow mapping", "twice"],
)
def test_a_share_that_cannot_be_set_in_place_is_refused(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        set_traffic(text, KSERVE, 60)


def test_a_share_other_than_the_record_s_is_a_model_lines_problem() -> None:
    """Argo CD serves the overlay: a share edited by hand would skip the canary's steps."""
    record = ProvenanceRecord(
        pipeline="fraud", environment="production", model_name="fraud", version="3",
        model_uri="models:/fraud/3", run_id="r", content_key="k", metrics={}, data_hash="d",
        spec_hash="s", commit="c", traffic_percent=20,
    )  # fmt: skip
    assert model_lines_problem(WITH_SHARE, KSERVE, record) is None
    edited = set_traffic(WITH_SHARE, KSERVE, 100)
    problem = model_lines_problem(edited, KSERVE, record)
    assert problem is not None and "canaryTrafficPercent is 100" in problem, problem
    assert "model.json beside it records 20" in problem
    assert model_lines_problem(edited, KSERVE, replace(record, traffic_percent=100)) is None
    # a record from before records held the share: the first step's
    assert model_lines_problem(WITH_SHARE, KSERVE, replace(record, traffic_percent=None)) is None
