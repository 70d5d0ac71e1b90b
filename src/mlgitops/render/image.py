"""The serving image's build files, for pipelines that set ``deploy.server.build``.

``manifests/<name>/image/Dockerfile`` installs the hash-locked requirements on
the base pinned by digest, and nothing else; ``Dockerfile.dockerignore`` beside
it lets only the requirements file into the build context (the repository
root). The deploy workflow's ``image`` job builds them (``workflows/deploy.py``).
The templates under ``templates/image/`` are :class:`string.Template` text:
strict (a missing value raises) and free of logic.
"""

from __future__ import annotations

from pathlib import Path

from mlgitops.render import serving
from mlgitops.spec import Pipeline
from mlgitops.spec.deploy import ImageBuild, image_files

_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "image"


def files(pipeline: Pipeline, head: str) -> dict[str, str]:
    """Repo-relative path -> text of the image's Dockerfile and ignore file (none without build)."""
    build = pipeline.deploy.server.build if pipeline.deploy else None
    if build is None:
        return {}
    dockerfile, ignore = image_files(pipeline.name)
    values = _values(pipeline, build, head)
    return {
        dockerfile: _fill("Dockerfile.tmpl", values),
        ignore: _fill("Dockerfile.dockerignore.tmpl", values),
    }


def _values(pipeline: Pipeline, build: ImageBuild, head: str) -> dict[str, str]:
    return {
        "header": head,
        "pipeline": pipeline.name,
        "base": build.base,
        "requirements": build.requirements,
        # the uid the manifests run as (a numeric USER, so runAsNonRoot can verify it)
        "uid": str(serving.RUN_AS),
    }


def _fill(name: str, values: dict[str, str]) -> str:
    from string import Template  # only where a build is set: most renders need none

    return Template((_TEMPLATES / name).read_text("utf-8")).substitute(values)
