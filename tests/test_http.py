"""jlac.http against a real local HTTP server: retries, Retry-After, timeouts, truncation, redaction."""

from __future__ import annotations

import logging
import time

import pytest
from jlac.http import USER_AGENT, HttpClient, HttpError, retry_after_seconds
from werkzeug import Request, Response

SECRET = "s3cr3t-KEY-9f8e7d"


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(sleeps, **kw) -> HttpClient:
    kw.setdefault("retries", 3)
    kw.setdefault("backoff", 0.5)
    return HttpClient(sleep=sleeps, **kw)


def test_user_agent_and_streamed_file(httpserver, tmp_path):
    httpserver.expect_request("/data", headers={"User-Agent": USER_AGENT}).respond_with_data(
        "a,b\n1,2\n", headers={"ETag": '"abc"', "Last-Modified": "Wed, 01 Oct 2025 10:00:00 GMT"}
    )
    with client(Sleeps()) as c:
        d = c.download(httpserver.url_for("/data"), tmp_path)
    assert d.path.read_text() == "a,b\n1,2\n" and d.bytes == 8
    assert d.path.parent == tmp_path and d.path.name.startswith(".part-")  # hidden until the caller moves it
    assert d.validators() == {"etag": '"abc"', "last_modified": "Wed, 01 Oct 2025 10:00:00 GMT"}
    assert USER_AGENT.startswith("jlac/")


def test_429_honours_retry_after(httpserver, tmp_path):
    httpserver.expect_ordered_request("/x").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "7"}
    )
    httpserver.expect_ordered_request("/x").respond_with_data("ok")
    sleeps = Sleeps()
    with client(sleeps) as c:
        d = c.download(httpserver.url_for("/x"), tmp_path)
        assert c.stats.requests == 2
    assert d.path.read_text() == "ok"
    assert sleeps == [7.0]  # the server's wait, not the client's backoff


def test_retry_after_too_long_gives_up_with_a_clear_message(httpserver, tmp_path):
    httpserver.expect_request("/x").respond_with_data("", status=503, headers={"Retry-After": "3600"})
    with client(Sleeps()) as c, pytest.raises(HttpError, match=r"HTTP 503, server asks to retry after 3600s"):
        c.download(httpserver.url_for("/x"), tmp_path)


def test_500_then_success_backs_off_with_jitter(httpserver, tmp_path):
    httpserver.expect_ordered_request("/x").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/x").respond_with_data("oops", status=502)
    httpserver.expect_ordered_request("/x").respond_with_data("fine")
    sleeps = Sleeps()
    with client(sleeps, backoff=0.5) as c:
        d = c.download(httpserver.url_for("/x"), tmp_path)
    assert d.path.read_text() == "fine"
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0  # full jitter, doubling cap


def test_persistent_500_fails_naming_the_request(httpserver, tmp_path):
    httpserver.expect_request("/x").respond_with_data("oops", status=500)
    with client(Sleeps(), retries=2) as c, pytest.raises(HttpError) as err:
        c.download(httpserver.url_for("/x"), tmp_path, params={"q": "1"})
    assert f"GET {httpserver.url_for('/x')}?q=1 failed after 3 attempt(s): HTTP 500" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_404_is_not_retried(httpserver, tmp_path):
    httpserver.expect_request("/x").respond_with_data("<html>Not Found</html>", status=404)
    with client(Sleeps()) as c:
        with pytest.raises(HttpError, match=r"HTTP 404 NOT FOUND; body starts: '<html>Not Found"):
            c.download(httpserver.url_for("/x"), tmp_path)
        assert c.stats.requests == 1


def test_read_timeout_is_retried_then_reported(httpserver, tmp_path):
    def slow(request: Request) -> Response:
        time.sleep(0.6)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    with client(Sleeps(), retries=1, read_timeout=0.2) as c, pytest.raises(HttpError) as err:
        c.download(httpserver.url_for("/slow"), tmp_path)
    assert "failed after 2 attempt(s): timed out (ReadTimeout" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_truncated_body_is_retried_and_never_left_on_disk(httpserver, tmp_path):
    def cut(request: Request) -> Response:
        # An iterable body keeps the announced length; the server then closes after 20 bytes.
        return Response(iter([b"<xml>only part of it"]), headers={"Content-Length": "5000"})

    httpserver.expect_request("/cut").respond_with_handler(cut)
    with client(Sleeps(), retries=1) as c, pytest.raises(HttpError) as err:
        c.download(httpserver.url_for("/cut"), tmp_path)
    assert "failed after 2 attempt(s): connection error (RemoteProtocolError" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_conditional_request_gets_304(httpserver, tmp_path):
    httpserver.expect_request("/x", headers={"If-None-Match": '"v1"'}).respond_with_data("", status=304)
    with client(Sleeps()) as c:
        d = c.download(httpserver.url_for("/x"), tmp_path, etag='"v1"')
    assert d.not_modified and d.path is None


def test_rate_limit_spaces_requests_to_one_host(httpserver, tmp_path):
    httpserver.expect_request("/x").respond_with_data("ok")
    sleeps = Sleeps()
    with client(sleeps, min_interval=5.0) as c:
        for _ in range(3):
            c.download(httpserver.url_for("/x"), tmp_path)
    # The fake sleep does not advance the clock, so each request is booked 5 s after the one before.
    assert len(sleeps) == 2 and 4.0 < sleeps[0] <= 5.0 and 9.0 < sleeps[1] <= 10.0


def test_secret_never_appears_in_messages_or_logs(httpserver, tmp_path, caplog):
    httpserver.expect_request("/k").respond_with_data(f"bad key {SECRET}", status=401)
    httpserver.expect_request("/ok").respond_with_data("fine")
    seen: list[str] = []
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # the CLI quiets httpx; other tests may have run it
    with client(Sleeps(), secrets=[SECRET], progress=seen.append) as c:
        d = c.download(httpserver.url_for("/ok"), tmp_path, params={"subscription-key": SECRET})
        with pytest.raises(HttpError) as err:
            c.download(httpserver.url_for("/k"), tmp_path, params={"appId": SECRET})
    assert httpserver.log[0][0].args["subscription-key"] == SECRET  # the server did get the key
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # werkzeug = the test server
    assert any("HTTP Request: GET" in m for m in ours)  # httpx did log the request line
    text = "\n".join([str(err.value), err.value.url, d.url, *ours, *seen])
    assert SECRET not in text
    assert "subscription-key=***" in d.url
    assert "appId=***" in str(err.value) and "bad key ***" in str(err.value)


def test_offline_client_refuses(tmp_path):
    with client(Sleeps(), offline=True) as c, pytest.raises(HttpError, match="offline"):
        c.download("http://127.0.0.1:9/x", tmp_path)


def test_retry_after_parsing():
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
