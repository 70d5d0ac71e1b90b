"""The Action's installer, ``scripts/action-uv``: uv's executable, only ever from a wheel
whose hash ``requirements/installer.txt`` lists, taken from the cache or downloaded from
a package index served on loopback here (the simple API's JSON and HTML forms), and the
install step that calls it."""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import re
import subprocess
import sys
import sysconfig
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
from packaging import _manylinux, tags
from packaging.utils import parse_wheel_filename

from tests.render.test_action import PROJECT, Ran, _run

SCRIPT = PROJECT / "scripts" / "action-uv"
VERSION = "0.13.8"

#: A stand-in for uv's executable: records its arguments, makes the venv's folders.
FAKE_UV = """#!/bin/sh
echo "$*" >> "$RECORD/uv"
case " $* " in *" --offline "*) if [ -n "${CACHE_LACKS:-}" ]; then exit 1; fi ;; esac
if [ "$1" = venv ]; then for last in "$@"; do :; done; mkdir -p "$last/bin"; fi
"""

#: The platforms uv publishes wheels for (uv 0.13's files on PyPI), each a py3-none wheel.
UV_PLATFORMS = [
    "macosx_10_12_x86_64",
    "macosx_11_0_arm64",
    "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "manylinux_2_17_armv7l.manylinux2014_armv7l",
    "manylinux_2_17_i686.manylinux2014_i686",
    "manylinux_2_17_ppc64.manylinux2014_ppc64",
    "manylinux_2_17_ppc64le.manylinux2014_ppc64le",
    "manylinux_2_17_s390x.manylinux2014_s390x",
    "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "manylinux_2_28_aarch64",
    "manylinux_2_31_riscv64",
    "musllinux_1_1_aarch64",
    "musllinux_1_1_armv7l",
    "musllinux_1_1_i686",
    "musllinux_1_1_x86_64",
    "win32",
    "win_amd64",
    "win_arm64",
]


def _module() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("action_uv", str(SCRIPT))
    spec = importlib.util.spec_from_loader("action_uv", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


ACTION_UV = _module()


def _uv_wheel(folder: Path, body: str, platform: str = "any") -> tuple[Path, str]:
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"uv-{VERSION}-py3-none-{platform}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"uv-{VERSION}.data/scripts/uv", body)
        archive.writestr(f"uv-{VERSION}.dist-info/METADATA", "Name: uv\n")
    return wheel, hashlib.sha256(wheel.read_bytes()).hexdigest()


def _installer_lock(*hashes: str, version: str = VERSION) -> str:
    lines = [f"    --hash=sha256:{h}" for h in hashes]
    return "# a lock\nuv==" + version + " \\\n" + " \\\n".join(lines) + "\n"


def _action_uv(*args: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def _this_platform() -> str:
    """A manylinux platform tag this machine runs (the wheels the index serves here)."""
    return next(t for t in ACTION_UV.this_machine() if t.startswith("manylinux_2_17_"))


# --- from the cache -----------------------------------------------------------------------


def test_uv_is_unpacked_only_from_a_wheel_the_lock_lists(tmp_path: Path) -> None:
    wheel, digest = _uv_wheel(tmp_path / "wheels", FAKE_UV)
    lock = tmp_path / "installer.txt"
    lock.write_text(_installer_lock("0" * 64, digest))
    done = _action_uv(lock, tmp_path / "wheels", tmp_path / "tools")
    assert (done.returncode, done.stderr) == (0, "")
    uv = tmp_path / "tools" / "uv"
    assert uv.read_text() == FAKE_UV and os.access(uv, os.X_OK)

    uv.unlink()
    wheel.write_bytes(wheel.read_bytes() + b"tampered")  # a restored cache's copy
    done = _action_uv(lock, tmp_path / "wheels", tmp_path / "tools")
    assert done.returncode == 1
    assert done.stderr == (f"action-uv: ignoring {wheel.name}: its sha256 is not in {lock}\n")
    assert not uv.exists()
    assert _action_uv(lock, tmp_path / "nothing", tmp_path / "tools").returncode == 1
    lock.write_text("# no uv here\n")
    assert _action_uv(lock, tmp_path / "wheels", tmp_path / "tools").returncode == 2
    assert _action_uv(lock, tmp_path / "wheels", tmp_path / "tools", "--index").returncode == 2


def test_the_real_installer_lock_pins_uv_by_hash() -> None:
    version, hashes = ACTION_UV.locked_hashes(
        (PROJECT / "requirements" / "installer.txt").read_text()
    )
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)


# --- which wheel: as pip's packaging.tags decides -------------------------------------------


def _packaging_platforms(
    monkeypatch: pytest.MonkeyPatch, machine: str, glibc: tuple[int, int], bits: int
) -> list[str]:
    """packaging's platform tags for py3-none wheels on a Linux with this glibc and machine."""
    monkeypatch.setattr(sysconfig, "get_platform", lambda: f"linux-{machine}")
    monkeypatch.setattr(_manylinux, "_get_glibc_version", lambda: _manylinux._GLibCVersion(*glibc))
    monkeypatch.setattr(_manylinux, "_have_compatible_abi", lambda executable, archs: True)
    monkeypatch.setattr(_manylinux, "_get_manylinux_module", lambda: None)
    return list(tags._linux_platforms(is_32bit=bits == 32))


@pytest.mark.parametrize(
    ("machine", "glibc", "bits"),
    [
        ("x86_64", (2, 39), 64),
        ("x86_64", (2, 17), 64),
        ("x86_64", (2, 5), 64),
        ("x86_64", (2, 35), 32),
        ("aarch64", (2, 35), 64),
        ("aarch64", (2, 17), 64),
        ("aarch64", (2, 31), 32),
        ("armv7l", (2, 31), 32),
        ("ppc64le", (2, 28), 64),
        ("s390x", (2, 34), 64),
        ("riscv64", (2, 39), 64),
        ("i686", (2, 12), 32),
    ],
)
def test_platform_tags_are_packaging_s_in_its_order(
    monkeypatch: pytest.MonkeyPatch, machine: str, glibc: tuple[int, int], bits: int
) -> None:
    expected = [
        p for p in _packaging_platforms(monkeypatch, machine, glibc, bits) if "musllinux" not in p
    ]
    assert _ranked(ACTION_UV.platform_tags("Linux", machine, glibc, bits)) == _ranked(expected)


def _ranked(platforms: list[str]) -> tuple[list[str], set[str]]:
    """The manylinux tags in order, and the plain ``linux_`` ones (packaging's versions
    rank them first or last; PyPI takes no wheel tagged so, so their place is moot)."""
    plain = {p for p in platforms if p.startswith("linux_")}
    return [p for p in platforms if p not in plain], plain


def test_this_machine_s_tags_are_pip_s() -> None:
    expected = [
        t.platform
        for t in tags.sys_tags()
        if (t.interpreter, t.abi) == ("py3", "none") and t.platform != "any"
    ]
    assert _ranked(ACTION_UV.this_machine()) == _ranked(expected)


def _pip_choice(filenames: list[str], platforms: list[str]) -> str | None:
    """The file pip installs: the wheel with the best-ranked tag, by packaging."""
    rank = {tags.Tag("py3", "none", p): place for place, p in enumerate(platforms)}
    ranked = [
        (min(rank[t] for t in parse_wheel_filename(name)[3] if t in rank), name)
        for name in filenames
        if any(t in rank for t in parse_wheel_filename(name)[3])
    ]
    return min(ranked)[1] if ranked else None


@pytest.mark.parametrize(
    ("machine", "glibc", "bits"),
    [
        ("x86_64", (2, 39), 64),
        ("x86_64", (2, 12), 64),
        ("aarch64", (2, 39), 64),
        ("aarch64", (2, 27), 64),
        ("aarch64", (2, 31), 32),
        ("riscv64", (2, 30), 64),
        ("riscv64", (2, 31), 64),
        ("loongarch64", (2, 38), 64),
    ],
)
def test_the_wheel_chosen_is_the_one_pip_would_install(
    monkeypatch: pytest.MonkeyPatch, machine: str, glibc: tuple[int, int], bits: int
) -> None:
    names = [f"uv-{VERSION}-py3-none-{p}.whl" for p in UV_PLATFORMS]
    names += [f"uv-0.13.7-py3-none-{p}.whl" for p in UV_PLATFORMS]  # another version
    names += [f"uv-{VERSION}.tar.gz", f"uv-{VERSION}-cp311-cp311-linux_{machine}.whl"]
    platforms = ACTION_UV.platform_tags("Linux", machine, glibc, bits)
    wanted = _pip_choice([n for n in names if n.startswith(f"uv-{VERSION}-py3")], platforms)
    assert ACTION_UV.best_wheel(names, VERSION, platforms) == wanted
    # packaging's own tags for the same machine choose the same file
    theirs = _packaging_platforms(monkeypatch, machine, glibc, bits)
    assert _pip_choice([n for n in names if n.startswith(f"uv-{VERSION}-py3")], theirs) == wanted


def test_no_wheel_fits_elsewhere_and_pip_decides() -> None:
    names = [f"uv-{VERSION}-py3-none-{p}.whl" for p in UV_PLATFORMS]
    for system, machine, glibc in [("Darwin", "arm64", None), ("Linux", "x86_64", None)]:
        platforms = ACTION_UV.platform_tags(system, machine, glibc, 64)
        assert platforms == [] and ACTION_UV.best_wheel(names, VERSION, platforms) is None


# --- from a package index -----------------------------------------------------------------


class Index:
    """A package index on loopback: the project page of uv, and its files."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.listed_hashes: dict[str, str] = {}
        self.form = "json"
        #: served as the project page instead, where set: (body, content type)
        self.raw: tuple[bytes, str] | None = None
        self.requests: list[tuple[str, str]] = []
        index = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                index.requests.append((self.path, self.headers.get("User-Agent", "")))
                if self.path == "/simple/uv/":
                    body, kind = index.page()
                elif self.path.startswith("/files/") and self.path[7:] in index.files:
                    body, kind = index.files[self.path[7:]], "application/octet-stream"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"
        serve = self.server.serve_forever
        threading.Thread(target=serve, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def add(self, name: str, data: bytes, listed_hash: str | None = None) -> None:
        self.files[name] = data
        self.listed_hashes[name] = listed_hash or hashlib.sha256(data).hexdigest()

    def page(self) -> tuple[bytes, str]:
        if self.raw is not None:
            return self.raw
        if self.form == "json":
            import json

            files = [
                {
                    "filename": n,
                    "url": f"../../files/{n}",
                    "hashes": {"sha256": self.listed_hashes[n]},
                }
                for n in self.files
            ]
            return json.dumps(
                {"meta": {"api-version": "1.1"}, "name": "uv", "files": files}
            ).encode(), ("application/vnd.pypi.simple.v1+json")
        anchors = "".join(
            f'<a href="/files/{n}#sha256={self.listed_hashes[n]}">{n}</a><br/>\n'
            for n in self.files
        )
        return f"<!DOCTYPE html><html><body>\n{anchors}</body></html>".encode(), "text/html"


@pytest.fixture
def index() -> Iterator[Index]:
    served = Index()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.mark.parametrize("form", ["json", "html"])
def test_the_locked_wheel_is_downloaded_when_the_cache_has_none(
    tmp_path: Path, index: Index, form: str
) -> None:
    index.form = form
    built, digest = _uv_wheel(tmp_path / "built", FAKE_UV, _this_platform())
    other, other_digest = _uv_wheel(
        tmp_path / "other", "#!/bin/sh\necho other\n", "macosx_11_0_arm64"
    )
    index.add(built.name, built.read_bytes())
    index.add(other.name, other.read_bytes())
    lock = tmp_path / "installer.txt"
    lock.write_text(_installer_lock(digest, other_digest))
    wheels, tools = tmp_path / "cache" / "installer", tmp_path / "tools"
    done = _action_uv(lock, wheels, tools, "--index", index.url)
    assert (done.returncode, done.stderr) == (0, "")
    assert (tools / "uv").read_text() == FAKE_UV
    # kept for the cache, under its own name: the next job unpacks it without the index
    assert sorted(p.name for p in wheels.iterdir()) == [built.name]
    assert [path for path, _ in index.requests] == ["/simple/uv/", f"/files/{built.name}"]
    (tools / "uv").unlink()
    assert _action_uv(lock, wheels, tools, "--index", "http://127.0.0.1:9/simple").returncode == 0
    assert len(index.requests) == 2


def test_a_downloaded_wheel_that_is_not_the_locked_one_is_never_unpacked(
    tmp_path: Path, index: Index
) -> None:
    built, digest = _uv_wheel(tmp_path / "built", FAKE_UV, _this_platform())
    index.add(built.name, built.read_bytes() + b"tampered", listed_hash=digest)  # lies about it
    lock = tmp_path / "installer.txt"
    lock.write_text(_installer_lock(digest))
    wheels, tools = tmp_path / "cache" / "installer", tmp_path / "tools"
    done = _action_uv(lock, wheels, tools, "--index", index.url)
    assert done.returncode == 1
    assert done.stderr == (
        f"action-uv: {built.name} from {index.url}/uv/: its sha256 is not in the lock\n"
    )
    assert not tools.exists() and not wheels.exists()


def test_an_index_that_lists_no_locked_wheel_is_not_downloaded_from(
    tmp_path: Path, index: Index
) -> None:
    built, _ = _uv_wheel(tmp_path / "built", FAKE_UV, _this_platform())
    index.add(built.name, built.read_bytes())
    lock = tmp_path / "installer.txt"
    lock.write_text(_installer_lock("0" * 64))
    done = _action_uv(lock, tmp_path / "wheels", tmp_path / "tools", "--index", index.url)
    assert done.returncode == 1
    assert done.stderr == (
        f"action-uv: {index.url}/uv/ lists no locked wheel of uv {VERSION} for this machine\n"
    )
    assert [path for path, _ in index.requests] == ["/simple/uv/"]
    unreachable = "http://127.0.0.1:9/simple"
    done = _action_uv(lock, tmp_path / "wheels", tmp_path / "tools", "--index", unreachable)
    assert done.returncode == 1
    assert done.stderr.startswith(f"action-uv: could not download uv from {unreachable}/uv/: ")


@pytest.mark.parametrize(
    "raw",
    [
        (b"[1, 2]", "application/vnd.pypi.simple.v1+json"),
        (b'{"files": [{"filename": "x"}]}', "application/vnd.pypi.simple.v1+json"),
        (b'{"files": 3}', "application/vnd.pypi.simple.v1+json"),
        (b"\xff\xfe not json", "application/vnd.pypi.simple.v1+json"),
        (b"<html><a>no link</a><a href=''></a></html>", "text/html"),
        (b"[" * 200_000, "application/vnd.pypi.simple.v1+json"),  # deeper than Python recurses
    ],
)
def test_an_index_page_it_cannot_read_leaves_it_to_pip(
    tmp_path: Path, index: Index, raw: tuple[bytes, str]
) -> None:
    index.raw = raw
    lock = tmp_path / "installer.txt"
    lock.write_text(_installer_lock("0" * 64))
    done = _action_uv(lock, tmp_path / "wheels", tmp_path / "tools", "--index", index.url)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("action-uv: "), done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "tools").exists()


def test_a_file_name_that_is_a_path_is_never_written(tmp_path: Path, index: Index) -> None:
    """The index names the files: one whose name would lead out of the cache's folder is
    not taken, even with a locked hash (a folder of that name there, from a cache)."""
    built, digest = _uv_wheel(tmp_path / "built", FAKE_UV, _this_platform())
    sneaky = f"uv-{VERSION}-py3-none-x/../../outside.{_this_platform()}.whl"
    index.add(sneaky, built.read_bytes())
    wheels = tmp_path / "cache" / "installer"
    (wheels / f"uv-{VERSION}-py3-none-x").mkdir(parents=True)
    lock = tmp_path / "installer.txt"
    lock.write_text(_installer_lock(digest))
    done = _action_uv(lock, wheels, tmp_path / "tools", "--index", index.url)
    assert done.returncode == 1
    assert "lists no locked wheel" in done.stderr
    assert not list(tmp_path.rglob("outside*")) and not (tmp_path / "tools").exists()


def test_an_index_that_needs_credentials_is_left_to_pip_and_never_printed(
    tmp_path: Path, index: Index
) -> None:
    built, digest = _uv_wheel(tmp_path / "built", FAKE_UV, _this_platform())
    index.add(built.name, built.read_bytes())
    lock = tmp_path / "installer.txt"
    lock.write_text(_installer_lock(digest))
    secret = index.url.replace("http://", "http://__token__:s3cr3t@")
    done = _action_uv(lock, tmp_path / "wheels", tmp_path / "tools", "--index", secret)
    assert (done.returncode, done.stderr) == (
        1,
        "action-uv: the index URL holds credentials: pip downloads uv\n",
    )
    assert index.requests == []


# --- the install step ---------------------------------------------------------------------


def _fake_action(tmp_path: Path, digest: str) -> Path:
    action = tmp_path / "action"
    (action / "requirements").mkdir(parents=True)
    (action / "scripts").mkdir()
    (action / "scripts" / "action-uv").write_text(SCRIPT.read_text())
    (action / "requirements" / "installer.txt").write_text(_installer_lock(digest))
    (action / "requirements" / "core.txt").write_text("# core\n")
    return action


def _install(tmp_path: Path, digest: str, index: str, **more: str) -> tuple[Ran, Path]:
    """The install step of the core extra with the index ``index``: the step's result and
    uv's call log."""
    cache = tmp_path / "cache"
    action = _fake_action(tmp_path, digest)
    record = tmp_path / "record"
    record.mkdir()
    env = {"EXTRA": "core", "CACHE_DIR": str(cache), "ACTION_PATH": str(action), **more}
    ran = _run(
        "install", tmp_path, RECORD=str(record), UV_DEFAULT_INDEX=index, PIP_RETRIES="0", **env
    )
    return ran, record / "uv"


def _locked_installs(calls_log: Path) -> list[str]:
    """The options of each `uv pip install` of the lock (not of the project's own wheel)."""
    calls = calls_log.read_text().splitlines()
    return [c for c in calls if c.startswith("pip install") and "--require-hashes" in c]


def test_a_cache_hit_installs_from_the_cache_without_asking_the_index(tmp_path: Path) -> None:
    """The key names the lock, so a hit holds every locked wheel: uv installs offline (the
    index's pages are not fetched again), hashes checked as ever."""
    _, digest = _uv_wheel(tmp_path / "cache" / "installer", FAKE_UV)
    ran, calls_log = _install(tmp_path, digest, "http://127.0.0.1:9/simple", CACHE_HIT="true")
    assert ran.code == 0, ran.stdout + ran.stderr
    (locked,) = _locked_installs(calls_log)
    assert locked.split().count("--offline") == 1 and "--only-binary :all:" in locked


@pytest.mark.parametrize("hit", ["false", ""])
def test_without_a_cache_hit_the_index_is_asked(tmp_path: Path, hit: str) -> None:
    _, digest = _uv_wheel(tmp_path / "cache" / "installer", FAKE_UV)
    ran, calls_log = _install(tmp_path, digest, "http://127.0.0.1:9/simple", CACHE_HIT=hit)
    assert ran.code == 0, ran.stdout + ran.stderr
    (locked,) = _locked_installs(calls_log)
    assert "--offline" not in locked.split()


def test_a_hit_that_lacks_a_locked_wheel_installs_from_the_index(tmp_path: Path) -> None:
    """A cache saved by a job whose install changed extra (a GPU runner's) may lack one."""
    _, digest = _uv_wheel(tmp_path / "cache" / "installer", FAKE_UV)
    ran, calls_log = _install(
        tmp_path, digest, "http://127.0.0.1:9/simple", CACHE_HIT="true", CACHE_LACKS="1"
    )
    assert ran.code == 0, ran.stdout + ran.stderr
    offline, online = _locked_installs(calls_log)
    assert offline == online + " --offline"
    assert "the restored cache lacks a locked wheel; installing from the index\n" in ran.stdout
    assert ran.outputs["executable"] == str(tmp_path / "mlgitops-venv" / "bin" / "mlgitops")


def test_a_warm_install_unpacks_the_cached_uv_without_pip(tmp_path: Path) -> None:
    _, digest = _uv_wheel(tmp_path / "cache" / "installer", FAKE_UV)
    ran, calls_log = _install(tmp_path, digest, "http://127.0.0.1:9/simple")
    assert ran.code == 0, ran.stdout + ran.stderr
    calls = calls_log.read_text().splitlines()
    pip = ["pip", "install"]
    build = ["build", "--no-config"]
    assert [c.split()[:2] for c in calls] == [["venv", "--no-config"], pip, build, pip]
    assert ran.outputs["executable"] == str(tmp_path / "mlgitops-venv" / "bin" / "mlgitops")
    assert ran.outputs["pycache"] == str(tmp_path / "cache" / "pycache")


def test_a_cold_install_downloads_uv_from_the_index_uv_installs_from(
    tmp_path: Path, index: Index
) -> None:
    built, digest = _uv_wheel(tmp_path / "built", FAKE_UV, _this_platform())
    index.add(built.name, built.read_bytes())
    ran, calls_log = _install(tmp_path, digest, index.url)
    assert ran.code == 0, ran.stdout + ran.stderr
    # one page and one file, by action-uv: pip was not started
    agents = {agent.split("/")[0] for _, agent in index.requests}
    assert ([path for path, _ in index.requests], agents) == (
        ["/simple/uv/", f"/files/{built.name}"],
        {"Python-urllib"},
    )
    assert (tmp_path / "cache" / "installer" / built.name).is_file()
    assert calls_log.read_text().splitlines()[0].startswith("venv --no-config")


def test_a_cached_uv_that_is_not_the_locked_one_is_never_run(tmp_path: Path, index: Index) -> None:
    wheel, digest = _uv_wheel(tmp_path / "cache" / "installer", FAKE_UV)
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    ran, calls_log = _install(tmp_path, digest, index.url)  # an index without the wheel
    assert ran.code != 0
    assert "its sha256 is not in" in ran.stderr
    assert f"{index.url}/uv/ lists no locked wheel of uv {VERSION}" in ran.stderr
    # then pip looked, in the same index, and found nothing either
    agents = [agent.split("/")[0] for _, agent in index.requests]
    assert agents == ["Python-urllib", "pip"]
    assert not calls_log.exists() and not wheel.exists()
    assert not (tmp_path / "mlgitops-uv" / "uv").exists()


def test_byte_code_is_kept_in_the_cache_beside_the_wheels() -> None:
    """uv compiles nothing: the first process of each job would compile every module it
    imports (seconds for scikit-learn and pandas). The byte-code goes to the cached folder
    instead (PYTHONPYCACHEPREFIX), so the next job with the same locks reads it; Python
    checks each file against its source's time and size, and the job's own mlgitops,
    installed anew, is compiled again."""
    from tests.render.test_action import ACTION

    run = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "run")
    assert run["env"]["PYTHONPYCACHEPREFIX"] == "${{ steps.install.outputs.pycache }}"
