"""Which optional install ("extra") each command needs, and how to ask for it.

The base install (``pip install mlgitops``) renders, plans, reports and
deploys to an ``http(s)`` tracking server; the rest needs an extra. A command
that meets a missing library says which ``pip install`` to run (exit 2)
instead of failing with a traceback.
"""

from __future__ import annotations

#: extra -> the top-level modules it installs (``train`` includes ``data``).
EXTRAS: dict[str, frozenset[str]] = {
    "data": frozenset({"pandas", "pandera", "pyarrow", "numpy", "scipy"}),
    "train": frozenset(
        {"pandas", "pandera", "pyarrow", "numpy", "scipy", "sklearn", "mlflow", "sqlalchemy"}
    ),
    "k8s": frozenset({"kubernetes"}),
}
EXTRAS["all"] = EXTRAS["train"] | EXTRAS["k8s"]
#: ``train-remote``: MLflow's client alone (``mlflow-skinny``), for a remote tracking server.
EXTRAS["train-remote"] = EXTRAS["train"] - {"sqlalchemy"}

#: command -> the extra it needs in every case (others need one only on some paths:
#: a ``sqlite:`` tracking store needs MLflow, ``promote --when-healthy`` the cluster client).
COMMANDS: dict[str, str] = {
    "validate": "data",
    "drift": "data",
    "train": "train",
    "compare": "train",
    "status": "k8s",
    "demo": "all",
}

#: distribution name of each module, where they differ (for messages).
_DISTRIBUTIONS = {"sklearn": "scikit-learn"}


def extra_for(command: str, module: str) -> str | None:
    """The extra to install when ``command`` cannot import ``module``; None if none has it."""
    top = module.split(".")[0]
    wanted = COMMANDS.get(command)
    if wanted is not None and top in EXTRAS[wanted]:
        return wanted
    return next((name for name in ("data", "train", "k8s") if top in EXTRAS[name]), None)


def install_command(extra: str) -> str:
    return f'pip install "mlgitops[{extra}]"'


def missing_message(command: str, module: str) -> str | None:
    """What to tell the user when ``command`` found ``module`` missing (None: not ours)."""
    extra = extra_for(command, module)
    if extra is None:
        return None
    top = module.split(".")[0]
    name = _DISTRIBUTIONS.get(top, top)
    return f"{name} is not installed, and {command} needs it: {install_command(extra)}"
