"""Guards every test runs under, and the fixtures shared across test modules.

- No network beyond loopback: ``socket.connect`` to any other address fails.
- ``$HOME`` points at a temporary folder, so nothing writes to the real one.
- A fixed git identity and no user/system git config.
- A clean environment: no GitHub, MLflow or Kubernetes variables leak in.
- One OpenMP thread per process (unless ``OMP_NUM_THREADS`` says otherwise).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

PROJECT = Path(__file__).resolve().parent.parent
CONTRACTS = PROJECT.parent / "shared" / "contracts"

# The suite runs a worker more than the cores (scripts/check), and each trains models whose OpenMP
# threads (scikit-learn's histogram boosting) keep a core busy while they wait for work.
# Beside another worker, that waiting takes the core the other needs: with two threads per
# process, the training tests used 1.6 times the CPU. Set before any test module loads
# OpenMP; the processes a test starts inherit it, except the models' processes of
# mlgitops.evaluation.apart, whose environment keeps a short list of variables.
os.environ.setdefault("OMP_NUM_THREADS", "1")

pytest_plugins = [
    "tests.fixtures.mlflow_server",
    "tests.fixtures.github_server",
]

_LEAKY_PREFIXES = ("GITHUB_", "MLFLOW_", "KUBECONFIG", "MLGITOPS_OUTPUT", "RUNNER_", "ACTIONS_")
_real_connect = socket.socket.connect


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return isinstance(address, str | bytes)  # AF_UNIX sockets are local


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise OSError(f"test tried to reach {address!r}: only loopback is allowed in tests")
    _real_connect(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _native_pass_built() -> None:
    """validate's native pass built before any test, as an environment keeps it after its
    first large file: every test, and every process a test starts, reads plain CSV files
    with it, whatever ran before on the same worker. A test of the chunked reading alone
    turns it off (``MLGITOPS_NATIVE=0``)."""
    from mlgitops.validation import native

    native._library(True)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    # A patch, not a mock: it enforces the no-network rule in-process.
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def _clean_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    _forget_mlflow_uris()
    for key in list(os.environ):
        if key.startswith(_LEAKY_PREFIXES) or key in ("CI",):
            monkeypatch.delenv(key, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "mlgitops tests")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "tests@mlgitops.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "mlgitops tests")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "tests@mlgitops.invalid")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.setenv("DO_NOT_TRACK", "true")  # MLflow's telemetry: nothing leaves the machine
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    yield
    _forget_mlflow_uris()


def _forget_mlflow_uris() -> None:
    """MLflow's set_tracking_uri and set_registry_uri write these for child processes, past
    any monkeypatch: a later process (a module fixture's, say) would talk to a server an
    earlier test started and stopped, and MLflow retries a dead server for minutes."""
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        os.environ.pop(key, None)


def missing(reason: str) -> NoReturn:
    """A visible skip for something the machine lacks; a failure where CI requires it."""
    if os.environ.get("MLGITOPS_REQUIRE_CONTRACTS") == "1":
        pytest.fail(f"{reason}, and MLGITOPS_REQUIRE_CONTRACTS=1 forbids skipping")
    pytest.skip(reason)


def program(name: str, package: str) -> str:
    """The path of program ``name``, which Debian's ``package`` installs, or :func:`missing`."""
    found = shutil.which(name)
    if found:
        return found
    missing(f"{name} is not installed (apt-get install {package})")


@pytest.fixture(scope="session")
def contracts() -> Path:
    """``../shared/contracts``; skips visibly when absent, fails when CI requires it."""
    if CONTRACTS.is_dir():
        return CONTRACTS
    missing(f"contract files not found at {CONTRACTS}")


@pytest.fixture
def git_repo(tmp_path: Path) -> Iterator[Path]:
    """An empty git repository with one branch, ``main``."""
    import subprocess

    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    yield root


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Test files that train, deploy or start servers run first. ``--dist loadfile
    --no-loadscope-reorder`` (``scripts/check``) hands the files to the workers in
    collection order, one more as each frees up: a long file handed out last keeps one
    worker running minutes after the other has finished. Files keep their collection order
    among equals, and tests their order within a file."""
    weight: dict[str, int] = {}
    for item in items:
        heavy = "mlflow_server" in getattr(item, "fixturenames", ()) or item.get_closest_marker(
            "slow"
        )
        module = item.nodeid.split("::", 1)[0]
        weight[module] = weight.get(module, 0) + (20 if heavy else 1)
    rank = {module: i for i, module in enumerate(sorted(weight, key=lambda m: -weight[m]))}
    items.sort(key=lambda item: rank[item.nodeid.split("::", 1)[0]])
