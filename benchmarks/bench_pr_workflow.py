"""The generated PR workflow, played step by step as a runner would, installs included.

    python benchmarks/bench_pr_workflow.py [--before REF] [--skip-before] [--trace-install]

A repository made by `mlgitops init` (the example pipeline), a pull request
that changes the model, and its generated PR workflow played job by job by the
local runner of the end-to-end tests (tests/fixtures/gha_runner.py): every
``run:`` step and every step of the Action, each job with an empty RUNNER_TEMP
at the same path (a fresh machine, as GitHub's hosted runners give it: its own
virtual environment), against a real `mlflow server`
and the loopback GitHub server. Nothing is pre-installed: each job's Action
installs mlgitops and the extra its command needs from the package index with
the system ``python3``, as on a GitHub-hosted runner after setup-python.

Two Actions are played in the same run, each cold (empty caches) then warm
(caches populated by the cold run; ``actions/cache`` restores and saves like
the real one, by key, at the job's start and end):

  before   the Action at ``--before`` (default: the last commit that installed
           with ``pip install <action>[extra]``, unlocked): the reference;
  after    this checkout's Action (hash-locked, uv, the wheel cache).

Prints each step's seconds and share of the workflow, the install's total and
share (with ``--trace-install``, each install step's seconds by command:
unpacking uv, ``uv venv``, ``uv pip install``, building mlgitops), and the
targets of issue 17 (warm: install <= 10 s; the whole workflow <= 45 s on
GitHub's machines: here the training and the machine's load count too, so
compare the install figures and the before/after ratio).
Needs the package index (cold installs download every wheel).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from tests.e2e.test_loop import Loop  # noqa: E402
from tests.fixtures.gha_runner import Runner, WorkflowRun  # noqa: E402

BEFORE = "6b5b95c"  # the Action's unlocked `pip install` (before hash-locked installs)
TARGET_INSTALL_S, TARGET_WORKFLOW_S = 10.0, 45.0
CERTS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_CERT", "REQUESTS_CA_BUNDLE")


@dataclass
class TimedRunner(Runner):
    """The e2e runner with a chosen Action folder, per-job machines, a cache and a clock."""

    action_dir: Path = ROOT
    cache_store: Path = Path()
    trace: bool = False
    timings: list[tuple[str, str, float]] = field(default_factory=list)
    parts: list[tuple[str, str, float]] = field(default_factory=list)
    #: what each job's saved cache holds: (job, folder, bytes, files)
    saved: list[tuple[str, str, int, int]] = field(default_factory=list)
    _job_id: str = ""
    _saves: list[tuple[str, Path]] = field(default_factory=list)
    _labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        action = yaml.safe_load((self.action_dir / "action.yml").read_text())
        self._labels = {s["run"]: s["name"] for s in action["runs"]["steps"] if "run" in s}

    def _job(self, job_id: str, job: dict[str, Any], run: WorkflowRun, ctx_base: dict[str, Any],
             env: dict[str, str], temp: Path) -> Any:  # fmt: skip
        # A fresh machine per job, as GitHub gives: RUNNER_TEMP is the same path in every
        # job (on hosted runners /home/runner/work/_temp), empty. The last job's is moved
        # aside, not deleted: deleting a gigabyte of files would slow this job's disk.
        machine = self.cache_store.parent / "runner-temp"
        if machine.exists():
            used = self.cache_store.parent / "used-machines"
            used.mkdir(exist_ok=True)
            machine.rename(used / f"{len(list(used.iterdir()))}-{job_id}")
        machine.mkdir(parents=True)
        ctx = {**ctx_base, "runner": {**ctx_base["runner"], "temp": str(machine)}}
        self._job_id, self._saves = job_id, []
        result = super()._job(job_id, job, run, ctx, {**env, "RUNNER_TEMP": str(machine)}, machine)
        for key, path in self._saves:  # actions/cache saves in its post step
            target = self.cache_store / key
            if not target.exists() and path.exists():
                with self._clock("(post) save the wheel cache"):
                    shutil.copytree(path, target, symlinks=True)
                for part in sorted(target.iterdir()):
                    files = [f for f in part.rglob("*") if f.is_file()] if part.is_dir() else [part]
                    size = sum(f.stat().st_size for f in files)
                    self.saved.append((job_id, part.name, size, len(files)))
        return result

    @contextmanager
    def _clock(self, label: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.timings.append((self._job_id, label, time.perf_counter() - start))

    def _bash(self, script: str, env: dict[str, str], cwd: Path, temp: Path,
              job_env: dict[str, str]) -> tuple[int, str, dict[str, str]]:  # fmt: skip
        label = self._labels.get(script, "run: " + script.strip().splitlines()[0][:40])
        traced = self.trace and label == "Install mlgitops"
        if traced:  # each command's start time, on stderr (the job's log)
            script = "LC_NUMERIC=C PS4='+ $EPOCHREALTIME '; set -x\n" + script
        with self._clock(label):
            start = time.time()
            code, log, outputs = super()._bash(script, env, cwd, temp, job_env)
            end = time.time()
        if traced:
            self.parts.extend(
                (self._job_id, part, s) for part, s in _install_parts(log, start, end)
            )
            log = "\n".join(line for line in log.splitlines() if not _TRACE.match(line))
        return code, log, outputs

    def _uses(self, step: dict[str, Any], ctx: dict[str, Any], env: dict[str, str], temp: Path,
              job_env: dict[str, str]) -> tuple[int, str, dict[str, str]]:  # fmt: skip
        uses = str(step["uses"])
        if uses.split("@")[0] in (*self.local_action_refs, "./"):
            from tests.fixtures.gha_expressions import interpolate, to_string

            with_ = {k: interpolate(to_string(v), ctx) for k, v in (step.get("with") or {}).items()}
            return self._composite(self.action_dir, with_, ctx, env, temp, job_env)
        if uses.startswith("actions/cache@"):
            return self._cache(step, ctx)
        with self._clock(uses.split("@")[0]):
            return super()._uses(step, ctx, env, temp, job_env)

    def _cache(self, step: dict[str, Any], ctx: dict[str, Any]) -> tuple[int, str, dict[str, str]]:
        from tests.fixtures.gha_expressions import interpolate, to_string

        with_ = {k: interpolate(to_string(v), ctx) for k, v in (step.get("with") or {}).items()}
        key, path = with_["key"], Path(with_["path"])
        hit = (self.cache_store / key).exists()
        with self._clock("actions/cache restore"):
            if hit:  # extracted over what is there, as the real one's tar does
                path.mkdir(parents=True, exist_ok=True)
                source = f"{self.cache_store / key}/."
                subprocess.run(["cp", "-a", "--remove-destination", source, str(path)], check=True)
        self._saves.append((key, path))
        return 0, f"cache {'hit' if hit else 'miss'}: {key}", {"cache-hit": str(hit).lower()}


_TRACE = re.compile(r"\++ (\d+\.\d+) (.*)")
#: The install step's commands that take time, by what they start with (the rest: "other").
_PARTS = {
    "python3 ": "unpack uv (action-uv)",
    "python3 -m pip download": "download uv (pip)",
    "venv ": "uv venv",
    "pip install --no-config --python": "uv pip install",
    "build ": "uv build (mlgitops)",
}


def _install_parts(log: str, start: float, end: float) -> list[tuple[str, float]]:
    """Seconds per kind of command in a traced install step's log (``set -x`` with times)."""
    marks = [(float(m.group(1)), m.group(2)) for m in map(_TRACE.match, log.splitlines()) if m]
    totals: dict[str, float] = {}
    for (at, command), (after, _) in zip(marks, [*marks[1:], (end, "")], strict=True):
        words = command.split(" ", 1)
        rest = words[1] if words[0].endswith("/uv") and len(words) == 2 else command
        name = next(
            (n for p, n in sorted(_PARTS.items(), reverse=True) if rest.startswith(p)), "other"
        )
        totals[name] = totals.get(name, 0.0) + after - at
    if marks:
        totals["other"] = totals.get("other", 0.0) + marks[0][0] - start
    return sorted(totals.items(), key=lambda item: -item[1])


class BenchLoop(Loop):
    """The e2e loop whose runner installs for real, with this benchmark's Action and caches."""

    action_dir: Path
    caches: Path
    trace: bool

    def runner(self, workspace: Path, *, secrets: bool = True, light: bool = False) -> Runner:
        base = super().runner(workspace, secrets=secrets, light=False)
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",  # python3 of the machine, not this venv
            "HOME": os.environ["HOME"],
            "LANG": "C.UTF-8",
            "PIP_CACHE_DIR": str(self.caches / "pip"),  # the old Action's pip cache
            "XDG_CACHE_HOME": str(self.caches / "xdg"),
            "PIP_CONFIG_FILE": os.devnull,  # no local wheel folders: the package index only
            **{k: v for k, v in os.environ.items() if k in CERTS or k.startswith("GIT_")},
        }
        return TimedRunner(
            workspace=workspace,
            artifacts=base.artifacts,
            repository=base.repository,
            base_env=env,
            secrets=base.secrets,
            api_url=base.api_url,
            local_action_refs=base.local_action_refs,
            next_run_id=base.next_run_id,
            action_dir=self.action_dir,
            cache_store=self.caches / "actions-cache",
            trace=self.trace,
        )


def _export(ref: str, target: Path) -> Path:
    """The Action as it was at ``ref`` (a git archive of the commit)."""
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


Timings = list[tuple[str, str, float]]


def play(loop: BenchLoop, number: int) -> tuple[WorkflowRun, Timings, Timings, float]:
    rate = f"learning_rate: 0.{number + 10}"  # a new model each PR: no training cache hit
    sha = loop.branch(f"tune-{number}", "learning_rate: 0.1", rate)
    start = time.perf_counter()
    run = loop.pull_request(number, f"tune-{number}", sha)
    wall = time.perf_counter() - start
    return run, loop.last_timings, loop.last_parts, wall


def report(title: str, run: WorkflowRun, timings: Timings, parts: Timings, wall: float) -> float:
    results = {job: r.result for job, r in run.jobs.items()}
    print(f"\n{title}: {wall:6.1f} s wall  jobs {results}")
    for job, label, seconds in timings:
        if seconds >= 0.05:
            print(f"  {job:8} {label:42} {seconds:7.2f} s {seconds / wall:6.1%}")
    install = sum(s for _, label, s in timings if _is_install(label))
    print(
        f"  {'':8} {'install (cache restore + install, all jobs)':42} {install:7.2f} s {install / wall:6.1%}"
    )
    if parts:
        print("  the install steps, by command (--trace-install):")
    summed: dict[tuple[str, str], float] = {}
    for job, part, seconds in parts:  # a job that calls the Action twice installs twice
        summed[job, part] = summed.get((job, part), 0.0) + seconds
    for (job, part), seconds in summed.items():
        print(f"  {job:8}   {part:40} {seconds:7.2f} s")
    if any(r.result == "failure" for r in run.jobs.values()):
        for job in run.jobs.values():
            if job.result == "failure":
                print(job.log[-3000:])
    return install


def _is_install(label: str) -> bool:
    return label in ("Install mlgitops", "actions/cache restore", "(post) save the wheel cache")


def measure(
    name: str, action_dir: Path, root: Path, mlflow: Any, github: Any, first: int, trace: bool
) -> dict[str, float]:
    loop = BenchLoop.__new__(BenchLoop)
    loop.action_dir, loop.caches, loop.trace = action_dir, root / "caches", trace
    loop.caches.mkdir(parents=True)
    Loop.__init__(loop, root, mlflow, github)
    original = loop.runner
    loop.last_timings, loop.last_parts, loop.last_saved = [], [], []

    def runner(workspace: Path, *, secrets: bool = True, light: bool = False) -> Runner:
        made = original(workspace, secrets=secrets, light=light)
        loop.last_timings = made.timings  # type: ignore[attr-defined]
        loop.last_parts = made.parts  # type: ignore[attr-defined]
        loop.last_saved = made.saved  # type: ignore[attr-defined]
        return made

    loop.runner = runner  # type: ignore[method-assign]
    figures = {}
    for number, state in ((first, "cold"), (first + 1, "warm")):
        run, timings, parts, wall = play(loop, number)
        shutil.rmtree(loop.caches / "used-machines", ignore_errors=True)  # between runs
        install = report(f"{name}, {state} caches", run, timings, parts, wall)
        figures[f"{state} install"], figures[f"{state} workflow"] = install, wall
        for job, folder, size, files in loop.last_saved:
            print(f"  {job:8} saved {folder:24} {size / 1e6:8.1f} MB {files:8,} files")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--before", default=BEFORE, help="git ref of the reference Action")
    parser.add_argument("--skip-before", action="store_true", help="play this checkout only")
    parser.add_argument(
        "--trace-install",
        action="store_true",
        help="time each command of the install steps (set -x), and print them by kind",
    )
    options = parser.parse_args()
    import threading
    from http.server import ThreadingHTTPServer

    from openapi_core import OpenAPI
    from tests.fixtures.github_server import GitHubServer, _handler_class, routes_of
    from tests.fixtures.mlflow_server import start_mlflow_server

    spec = ROOT.parent / "shared" / "contracts" / "github" / "openapi-subset.json"
    with tempfile.TemporaryDirectory(prefix="bench-pr-") as tmp:
        rows: dict[str, dict[str, float]] = {}
        variants = [("after (this checkout)", ROOT)]
        if not options.skip_before:
            before = _export(options.before, Path(tmp) / "before-action")
            variants.insert(0, (f"before ({options.before})", before))
        mlflow, proc = start_mlflow_server(Path(tmp) / "mlflow")
        try:
            for index, (name, action_dir) in enumerate(variants):
                github = GitHubServer(OpenAPI.from_file_path(str(spec)), routes_of(spec))
                http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(github))
                github.root = f"http://127.0.0.1:{http.server_address[1]}"
                threading.Thread(target=http.serve_forever, daemon=True).start()
                try:
                    root = Path(tmp) / f"variant-{index}"
                    root.mkdir()
                    rows[name] = measure(
                        name, action_dir, root, mlflow, github, 1 + 2 * index, options.trace_install
                    )
                finally:
                    http.shutdown()
        finally:
            proc.terminate()
            proc.wait()
    print(
        f"\n{'':28} {'cold install':>13} {'cold workflow':>14} {'warm install':>13} {'warm workflow':>14}"
    )
    for name, f in rows.items():
        print(
            f"{name:28} {f['cold install']:11.1f} s {f['cold workflow']:12.1f} s "
            f"{f['warm install']:11.1f} s {f['warm workflow']:12.1f} s"
        )
    after = rows["after (this checkout)"]
    if len(rows) == 2:
        first = next(iter(rows.values()))
        print(
            f"install, after / before: cold {after['cold install'] / first['cold install']:.2f}x, "
            f"warm {after['warm install'] / first['warm install']:.2f}x"
        )
    ok = after["warm install"] <= TARGET_INSTALL_S
    print(f"warm install <= {TARGET_INSTALL_S:.0f} s: {'ok' if ok else 'OVER'}")
    ok = after["warm workflow"] <= TARGET_WORKFLOW_S
    print(f"warm workflow <= {TARGET_WORKFLOW_S:.0f} s: {'ok' if ok else 'OVER'} (this machine)")


if __name__ == "__main__":
    main()
