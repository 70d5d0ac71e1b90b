"""Data from a URL, served by a loopback HTTP server started here."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.validate.corpus import CORPUS, make_repo, run_cli


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow.csv":
            time.sleep(1.5)
        name = self.path.lstrip("/")
        if name not in ("out_of_range.csv", "slow.csv", "sign-in.csv", "as-html.csv"):
            self.send_error(404, "Not Found")
            return
        body = (CORPUS / "out_of_range.csv").read_bytes()
        if name == "sign-in.csv":  # a proxy's or a host's sign-in page, answered 200
            body = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body></body></html>\n"
        try:
            self.send_response(200)
            if name in ("sign-in.csv", "as-html.csv"):
                self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout test)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def test_url_data_is_validated(server: str, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"{server}/out_of_range.csv"
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", url)
    assert outcome.code == 1
    assert outcome.stdout.splitlines() == [
        f"accounts: {url}, 4 rows: FAILED (2 check(s))",
        "column  check                        rows  first offending value",
        f"age     in_range(0, 120)                2  {url}:3: 130",
        f"score   greater_than_or_equal_to(0)     1  {url}:4: -1.0",
    ]


def test_url_annotations_name_no_repository_file(
    server: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{server}/out_of_range.csv"
    outcome = run_cli(
        capsys, "-C", str(repo), "validate", "accounts", "--data", url, "--format", "github"
    )
    errors = [line for line in outcome.stdout.splitlines() if line.startswith("::error")]
    assert errors[0] == (
        f"::error title=age%3A in_range(0%2C 120)::2 row(s): values out of range; "
        f"first at {url}:3: 130"
    )


def test_a_web_page_where_the_data_should_be_is_named_as_such(
    server: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sign-in page answered with 200 was read as CSV: "the file has a header but no data
    rows", about a header of HTML."""
    url = f"{server}/sign-in.csv"
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", url)
    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr == (
        f"mlgitops validate: error: {url}: the server answered with a web page "
        "(Content-Type: text/html; charset=utf-8), not the data file: a sign-in or error "
        "page? Give the URL of the file itself\n"
    )


def test_data_a_server_calls_html_is_read_where_it_is_no_web_page(
    server: str, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{server}/as-html.csv"
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", url)
    assert outcome.code == 1
    assert outcome.stdout.splitlines()[0] == f"accounts: {url}, 4 rows: FAILED (2 check(s))"


def test_url_404(server: str, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"{server}/missing.csv"
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", url)
    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr == (
        f"mlgitops validate: error: {url}: the server answered HTTP 404 Not Found\n"
    )


def test_url_timeout(server: str, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"{server}/slow.csv"
    outcome = run_cli(
        capsys, "-C", str(repo), "validate", "accounts", "--data", url, "--timeout", "0.3"
    )
    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr == f"mlgitops validate: error: {url}: no answer within 0.3s (timed out)\n"


@pytest.mark.parametrize("seconds", ["nan", "inf", "1e308", "0", "-1", "soon"])
def test_a_timeout_that_is_not_a_number_of_seconds_is_a_usage_error(
    server: str, repo: Path, seconds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"{server}/out_of_range.csv"
    with pytest.raises(SystemExit) as exited:
        run_cli(
            capsys, "-C", str(repo), "validate", "accounts", "--data", url, "--timeout", seconds
        )
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(
        "error: argument --timeout: expected a number of seconds above 0, at most 86400: "
        f"{seconds!r}\n"
    )
    assert not (repo / ".mlgitops").exists()


def test_url_nobody_listens(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.csv"
    outcome = run_cli(capsys, "-C", str(repo), "validate", "accounts", "--data", url)
    assert outcome.code == 2
    assert outcome.stderr.startswith(f"mlgitops validate: error: {url}: cannot download: ")
