"""The one HTTP client of jlac's live connectors.

Why a wrapper around httpx: every publisher gets the same manners and the same safety. Timeouts on
connect, read and a whole exchange; retries with exponential backoff and full jitter on 429, 5xx and connection
errors, honouring ``Retry-After``; a minimum interval between requests to the same host; conditional
requests (``If-None-Match`` / ``If-Modified-Since``); bodies streamed to a temp file that becomes
visible only when complete; a User-Agent naming jlac. Secrets (API keys in query parameters or
headers) are registered with the client and replaced by ``***`` in every URL, log line and error it
produces, so they cannot leak into manifests or exception messages.
"""

from __future__ import annotations

import email.utils
import itertools
import logging
import os
import random
import re
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

import httpcore
import httpx

from jlac import __version__
from jlac.errors import JlacError

log = logging.getLogger(__name__)

USER_AGENT = f"jlac/{__version__} (+https://github.com/jlac)"
# 408 (the server timed the request out) and the 52x a CDN in front of a publisher answers when the origin fails
# (Cloudflare's 520-524) pass as 502-504 do: one of them once failed a source for good (found by a QA pass)
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
MAX_REDIRECTS = 10
REDACTED = "***"
# what is read of an error page or a redirect's body: 300 characters of it are shown, and a server could send gigabytes
ERROR_BODY_MAX = 64 * 1024
_SECRETS: set[str] = set()  # every secret any client was given: the log filter below needs them all
# the password of a URL's userinfo (http://user:PASSWORD@host/, a mirror or proxy with basic auth)
_USERINFO_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/?#@\s:]*:)[^/?#@\s]+@")


def _redact(text: str, secrets: Iterable[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        text = text.replace(s, REDACTED)
    # whether or not the password was registered: a URL with credentials is shown as http://user:***@host/
    return _USERINFO_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)


# An '@' that ends a URL's userinfo: a host (name, IPv4, [IPv6]) and a port may follow it, then the path, query,
# fragment or the end. A password with an unencoded '/', '?' or '#' (base64) made urlsplit, httpx and libpq take part
# of it for the host, port or path, and show it there (found by QA passes).
_USERINFO_END = re.compile(r"@(?=(?:[\w.~-]+|\[[0-9A-Fa-f:.]+\])(?::\d*)?(?:[/?#]|$))")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*:/+)(.*)", re.S)  # 'postgresql:/' (a typo) too; 'user:pw@' is no scheme


def split_userinfo(url: str) -> tuple[str, str, str]:
    """``(scheme and slashes, userinfo, the rest)`` of a URL as a person wrote it, the userinfo ending at the last
    '@' that a host follows and that comes before the query (an '@' in a query value is not the userinfo's)."""
    m = _SCHEME.fullmatch(url.strip())
    scheme, rest = (m.group(1), m.group(2)) if m else ("", url.strip())
    ends = [a.start() for a in _USERINFO_END.finditer(rest)]
    query = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    before_query = [i for i in ends if i < query]
    at = (before_query or ends or [None])[-1]
    return (scheme, "", rest) if at is None else (scheme, rest[:at], rest[at + 1:])


def without_credentials(url: str) -> str:
    """``url`` without its userinfo, query string and fragment, where credentials ride (http://user:PASSWORD@host/,
    ?token=...): a link as people may see it and alerts may carry it."""
    scheme, _, rest = split_userinfo(url)
    return scheme + re.split(r"[?#]", rest, maxsplit=1)[0]


def credentials_in(url: str) -> list[str]:
    """The parts of ``url`` that may be credentials, longest first: its userinfo's password (whole, percent-decoded,
    and the pieces a delimiter inside it splits it into, as a parser that misread it shows them), its query values.
    A piece shorter than 3 characters is left out (replacing it would garble ordinary words), a whole password of 2."""
    from urllib.parse import parse_qsl, unquote

    _, userinfo, rest = split_userinfo(url)
    password = userinfo.partition(":")[2]
    query = re.split(r"[?#]", rest, maxsplit=1)[1] if re.search(r"[?#]", rest) else ""
    wholes = {password, unquote(password), quote(password, safe="")}
    values = query.partition("#")[0]
    found = {v for _, v in parse_qsl(values, keep_blank_values=True)} | {query}
    found |= {pair.partition("=")[2] for pair in values.split("&")}  # as written, percent-encoded
    found |= {piece for p in wholes for piece in re.split(r"[/@:?#&=\\\s]+", p)}
    return sorted({f for f in wholes if len(f) >= 2} | {f for p in found for f in (p, unquote(p)) if len(f) >= 3},
                  key=len, reverse=True)


def hide_in_prefect_logs(url: str) -> None:
    """Have Prefect's flow- and task-run log lines (its "View at <UI URL>", derived from PREFECT_API_URL, and every
    line jlac logs in a run) show ``***`` for the credentials in ``url``."""
    for secret in credentials_in(url):
        keep_out_of_logs(secret)
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactingFilter) for f in logger.filters):
            logger.addFilter(_RedactingFilter())


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets``, and the password of any URL in it, as ``***``."""
    return _redact(text, secrets)


def keep_out_of_logs(value: str) -> None:
    """Have httpx's and httpcore's log lines show ``***`` for ``value`` (a token in a URL's path, e.g. a chat
    webhook's, which no client registered as its secret)."""
    if value and len(value) >= 4:  # shorter values would redact ordinary text
        _SECRETS.add(value)


class _RedactingFilter(logging.Filter):
    """httpx logs every request URL (query string included) at INFO: scrub secrets from those lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS or "@" in str(record.msg) or record.args:
            message = record.getMessage()
            clean = _redact(message, _SECRETS)
            if clean != message:
                record.msg, record.args = clean, None
        return True


# a logger's filters do not see its children's records: httpcore logs from httpcore.http11, .connection ...
for _name in ("httpx", "httpcore", "httpcore.connection", "httpcore.connection_pool", "httpcore.http11",
              "httpcore.http2", "httpcore.proxy"):
    logging.getLogger(_name).addFilter(_RedactingFilter())


class HttpError(JlacError):
    """A request failed for good (after retries), or returned something other than success."""

    def __init__(self, message: str, url: str = "", status: int | None = None, may_pass: bool = False,
                 body: str = ""):
        super().__init__(message)
        self.url = url  # already redacted
        self.status = status
        self.may_pass = may_pass  # True only when the retries ran out on 429/5xx/connection errors (JlacError)
        self.body = body  # the start of an error answer's body (redacted): what the server said, for a connector


@dataclass
class Download:
    """A finished response body on disk (or a 304 with no body)."""

    url: str  # redacted
    status: int
    path: Path | None  # None when not_modified
    bytes: int
    etag: str | None
    last_modified: str | None
    content_type: str
    not_modified: bool = False
    final_url: str | None = None  # redacted; where redirects led, when that is not ``url``
    # HTTP/1 with neither Content-Length nor chunked framing: the end of the body is the connection's close, so a
    # connection lost early leaves a shorter body that HTTP cannot tell from a whole one
    close_delimited: bool = False

    def validators(self) -> dict:
        """The conditional-request validators to keep in the manifest (only those the server sent)."""
        return {k: v for k, v in (("etag", self.etag), ("last_modified", self.last_modified)) if v}


@dataclass
class Stats:
    requests: int = 0  # HTTP exchanges, retries included
    bytes: int = 0  # body bytes received on the wire
    per_host: dict[str, int] = field(default_factory=dict)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait per a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit alone takes '²' and other non-ASCII digits
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class _Damaged(Exception):
    """A body that arrived whole on the wire but does not decode: retried like a truncated one."""


class _TooSlow(Exception):
    """A body still arriving after the client's total time for one exchange: retried, then the request fails."""


class _WriteFailed(Exception):
    """The body could not be written to disk (a full disk, a quota): the step and the file, for the message."""

    def __init__(self, error: OSError, step: str, path: Path):
        super().__init__(f"{step} {path} failed: {error.strerror or error}")
        self.error = error


def _write(fh, data: bytes, path: Path) -> None:
    try:
        fh.write(data)
    except OSError as exc:
        raise _WriteFailed(exc, "writing the body to", path) from None


class _Unsupported(Exception):
    """An answer jlac cannot take whatever the retries: fail at once."""


class _Decoder:
    """The body's Content-Encoding undone by jlac itself, so that a compressed stream cut short is an error.

    httpx decodes gzip without checking that the stream ended: a gzip body cut inside (its Content-Length right
    for what was sent) came out as a shorter file, and was stored as a good new vintage with the later rows
    missing. Here the stream must reach its end (``eof``), else the body is damaged. A gzip body may be several
    members one after another (RFC 1952): each is decoded, where stopping at the first stored half a file.
    """

    def __init__(self, header: str | None):
        names = [n.strip().lower() for n in (header or "").split(",") if n.strip()]
        self._stages: list[list] = []
        for name in reversed([n for n in names if n != "identity"]):  # applied in order, undone in reverse
            if name in ("gzip", "x-gzip"):
                self._stages.append(["gzip", _inflater("gzip")])
            elif name == "deflate":  # RFC 9110 deflate is the zlib format
                self._stages.append(["deflate", _inflater("deflate")])
            else:
                raise _Unsupported(f"Content-Encoding {header!r} (jlac asks for gzip or deflate only)")

    def _through(self, i: int, data: bytes) -> Iterator[bytes]:
        """Stage ``i``'s output for ``data``, in pieces of at most _PIECE bytes: a few KB that inflate to a GB
        (two gzip layers) were inflated whole in memory before the body's size limit could see them (found by a QA
        pass)."""
        kind, stage = self._stages[i]
        while True:
            out = stage.decompress(data, _PIECE)
            data = stage.unconsumed_tail
            if out:
                yield out
            if stage.eof and stage.unused_data:  # bytes after the end of a stream: the next gzip member
                if kind != "gzip":
                    raise _Damaged("body has data after the end of its compressed stream")
                data, stage = stage.unused_data, _inflater(kind)
                self._stages[i][1] = stage
                continue
            if not data and len(out) < _PIECE:  # all taken, and nothing held back for want of room
                return

    def _pipe(self, i: int, data: bytes) -> Iterator[bytes]:
        if i == len(self._stages):
            if data:
                yield data
            return
        for piece in self._through(i, data):
            yield from self._pipe(i + 1, piece)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of the next piece of the body, in bounded pieces."""
        try:
            yield from self._pipe(0, data)
        except zlib.error as exc:
            raise _Damaged(f"body does not decode as its Content-Encoding ({exc})") from None

    def finish(self) -> Iterator[bytes]:
        """What the stages still hold at the body's end, in bounded pieces; _Damaged when a stream did not end."""
        for i in range(len(self._stages)):
            try:
                for piece in self._stages_flushed(i):
                    yield from self._pipe(i + 1, piece)
            except zlib.error as exc:
                raise _Damaged(f"body does not decode as its Content-Encoding ({exc})") from None
            if not self._stages[i][1].eof:
                raise _Damaged("compressed body ends before its compressed stream does (cut short)")

    def _stages_flushed(self, i: int) -> Iterator[bytes]:
        yield from self._through(i, b"")
        rest = self._stages[i][1].flush()
        if rest:
            yield rest


_PIECE = 1 << 20  # the most one decompress call gives out (bytes)


def _inflater(kind: str):
    return zlib.decompressobj(16 + zlib.MAX_WBITS if kind == "gzip" else zlib.MAX_WBITS)


class _Exchange(threading.local):
    """The exchange a thread is in: its deadline (``total_timeout`` from its start), whether the deadline cut an
    I/O wait short, and the URL of the hop being asked (redacted; another than the one asked for after a redirect).

    The read timeout bounds each wait for bytes: a server trickling its header lines, a redirect's body or an error
    page never trips it, and such an exchange took 20 s with a total timeout of 3 s. So every wait of the exchange
    (connect, send, headers, every body, every redirect hop) is bounded by what is left until the deadline."""

    deadline: float | None = None
    expired = False
    url = ""

    def bounded(self, io: Callable[[float | None], object], timeout: float | None):
        """``io(timeout)`` with the timeout cut to the time left; a timeout the deadline caused sets ``expired``."""
        if self.deadline is None:
            return io(timeout)
        # past the deadline, bytes that already arrived are still taken (a body that came whole is whole); nothing
        # more is waited for
        left = max(self.deadline - time.monotonic(), 0.001)
        if timeout is not None and timeout <= left:
            return io(timeout)
        try:
            return io(left)
        except httpcore.TimeoutException:
            self.expired = True
            raise


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits no longer than its exchange has left."""

    def __init__(self, stream: httpcore.NetworkStream, exchange: _Exchange):
        self._stream, self._exchange = stream, exchange

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._exchange.bounded(lambda t: self._stream.read(max_bytes, t), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._exchange.bounded(lambda t: self._stream.write(buffer, t), timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        tls = self._exchange.bounded(lambda t: self._stream.start_tls(ssl_context, server_hostname, t), timeout)
        return _DeadlineStream(tls, self._exchange)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with every connection bounded by its exchange's deadline (``_Exchange``)."""

    def __init__(self, backend: httpcore.NetworkBackend, exchange: _Exchange):
        self._backend, self._exchange = backend, exchange

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._exchange.bounded(
            lambda t: self._backend.connect_tcp(host, port, t, local_address, socket_options), timeout)
        return _DeadlineStream(stream, self._exchange)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        stream = self._exchange.bounded(lambda t: self._backend.connect_unix_socket(path, t, socket_options), timeout)
        return _DeadlineStream(stream, self._exchange)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class HttpClient:
    """httpx with timeouts, retries, a per-host rate limit, conditional GETs and secret redaction.

    ``min_interval`` is the least time between two requests to the same host (seconds), with
    per-host overrides in ``host_intervals``. ``sleep`` and ``rng`` are injectable so tests can run
    the retry logic against a real local server without waiting for real backoff.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        total_timeout: float = 1800.0,
        max_bytes: int = 2 * 1024**3,
        retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_retry_after: float = 300.0,
        min_interval: float = 0.0,
        host_intervals: dict[str, float] | None = None,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        progress: Callable[[str], None] | None = None,
        offline: bool = False,
    ):
        self.timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        # the read timeout bounds each wait for bytes: a server trickling a byte now and then never trips it, and a
        # fetch could hang for hours; this bounds one exchange as a whole (checked as the body arrives)
        self.total_timeout = total_timeout
        # the largest body (as written, decompressed) one exchange may bring: a 3 GB answer was written whole, then
        # read into memory by the connector's checks (found by a QA pass); a gzip bomb is stopped as it inflates
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.min_interval = min_interval
        self.host_intervals = dict(host_intervals or {})
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.progress = progress
        self.offline = offline
        self.stats = Stats()
        self._secrets: set[str] = set()
        for s in secrets:
            self.add_secret(s)
        self._last_request: dict[str, float] = {}
        self._lock = threading.Lock()
        # Redirects are followed by _send, which drops secret headers on the way to another origin (httpx drops
        # only Authorization). Encodings: only those _Decoder undoes and checks.
        self._client = httpx.Client(
            timeout=self.timeout, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            follow_redirects=False,
        )
        self._exchange = _Exchange()
        # httpx has no public way to give its connection pools a network backend: set it on each (the direct one and
        # those of proxies from the environment) before any connection is made. Without it only the data body would
        # be bounded by total_timeout, checked as it arrives.
        for transport in [self._client._transport, *self._client._mounts.values()]:
            pool = getattr(transport, "_pool", None)
            if pool is not None and hasattr(pool, "_network_backend"):
                pool._network_backend = _DeadlineBackend(pool._network_backend, self._exchange)

    # -- secrets ---------------------------------------------------------------------------------
    def add_secret(self, value: str | None) -> None:
        """Register a value that must never appear in a URL, log line or message this client makes."""
        # a key read from a file keeps its line break ('KEY\n'): errors show it escaped (b'KEY\\n'), where only the
        # key without the white space matches
        for secret in {value, (value or "").strip()}:
            if secret and len(secret) >= 4:  # shorter values would redact ordinary text
                # as given, and as a URL carries it: 'a+b/c=' is a%2Bb%2Fc%3D in a query string (httpx), a+b/c= or
                # a%2Bb/c%3D elsewhere
                for form in {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}:
                    self._secrets.add(form)
                    _SECRETS.add(form)

    def redact(self, text: str) -> str:
        """``text`` with every registered secret replaced by ``***``."""
        return _redact(text, self._secrets)

    # -- plumbing ----------------------------------------------------------------------------------
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _wait_for_host(self, host: str) -> None:
        interval = self.host_intervals.get(host, self.min_interval)
        with self._lock:
            last = self._last_request.get(host)
            now = time.monotonic()
            wait = 0.0 if last is None else max(0.0, last + interval - now)
            self._last_request[host] = now + wait
        if wait > 0:
            self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        # Full jitter (AWS architecture blog): spreads the retries of many clients evenly.
        return self.rng.uniform(0, min(self.max_backoff, self.backoff * (2**attempt)))

    def _say(self, message: str) -> None:
        if self.progress:  # a progress display shows it; logging it too would print it twice
            self.progress(message)
        else:
            log.info("%s", message)

    # -- the request -------------------------------------------------------------------------------
    def download(
        self,
        url: str,
        dest_dir: Path,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Download:
        """GET ``url`` and stream the body into a new temp file in ``dest_dir``.

        Sends ``If-None-Match``/``If-Modified-Since`` when validators are given; a 304 returns a
        Download with ``not_modified=True`` and no file. Retries 429/5xx/connection errors and
        truncated bodies; raises HttpError (with the secret-free URL) when it gives up.
        """
        try:
            request = self._client.build_request("GET", url, params=params, headers=dict(headers or {}))
        except httpx.InvalidURL as exc:
            raise HttpError(f"GET {self.redact(url)}: not a valid URL ({exc})", self.redact(url)) from None
        if etag:
            request.headers["If-None-Match"] = etag
        if last_modified:
            request.headers["If-Modified-Since"] = last_modified
        if request.url.password:  # sent (as basic auth), never shown: registered like an API key
            self.add_secret(request.url.password)
            self.add_secret(quote(request.url.password, safe=""))
        shown = self.redact(str(request.url))
        if self.offline:
            raise HttpError(f"GET {shown}: refused, jlac runs offline (--offline)", shown)
        host = request.url.host
        last_problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._say(f"retry {attempt}/{self.retries} of GET {shown} after: {last_problem}")
            self._wait_for_host(host)
            self.stats.requests += 1
            self.stats.per_host[host] = self.stats.per_host.get(host, 0) + 1
            try:
                result, delay, last_problem = self._attempt(request, shown, dest_dir)
            except httpx.UnsupportedProtocol as exc:  # no scheme, ftp://, ...: no retry can help
                raise HttpError(f"GET {shown}{self._there(shown)}: {self.redact(str(exc))}; jlac fetches http:// and "
                                "https:// URLs", shown) from None
            except _Unsupported as exc:
                raise HttpError(f"GET {shown}{self._there(shown)}: {exc}", shown) from None
            except _WriteFailed as exc:  # not retried: the disk stays full for the next attempt; may pass later
                raise HttpError(f"GET {shown}: {exc}", shown, may_pass=True) from None
            except (_Damaged, _TooSlow) as exc:
                result, delay, last_problem = None, None, str(exc)
            except httpx.TimeoutException as exc:
                result, delay = None, None
                last_problem = (
                    f"timed out{self._at(shown)} ({type(exc).__name__}; connect {self.timeout.connect}s, "
                    f"read {self.timeout.read}s)"
                )
            except httpx.TransportError as exc:
                result, delay = None, None
                last_problem = f"connection error{self._at(shown)} ({type(exc).__name__}: {self.redact(str(exc))})"
            if result is not None:
                return result
            if attempt == self.retries:
                break
            # Retry-After is a floor, not the whole wait: "Retry-After: 0" on every 429 made the retries one burst
            wait = self._backoff(attempt) if delay is None else max(delay, self._backoff(attempt))
            self.sleep(wait)
        raise HttpError(f"GET {shown} failed after {self.retries + 1} attempt(s): {last_problem}", shown,
                        may_pass=True)

    def _there(self, shown: str) -> str:
        """`` (redirected to URL)`` when the exchange failed at another URL than the one asked for, else ''."""
        hop = self._exchange.url
        return f" (redirected to {hop})" if hop and hop != shown else ""

    def _at(self, shown: str) -> str:
        hop = self._exchange.url
        return f" at {hop}, where a redirect led" if hop and hop != shown else ""

    def _error_body(self, response: httpx.Response) -> bytes:
        """The start of the body of an answer that is not the data (an error page, a redirect): at most
        ERROR_BODY_MAX bytes and what arrived before the exchange's deadline, decoded when it decodes: a server
        labelling a plain 'Service Unavailable' as gzip must still give a retry or a message naming the URL and
        status, not a decoding error."""
        raw, whole = bytearray(), True
        try:
            for chunk in response.iter_raw():
                raw += chunk
                if len(raw) >= ERROR_BODY_MAX:
                    whole = False
                    break
        except httpx.TimeoutException:
            if not self._exchange.expired:
                raise
            whole = False  # the status says what matters; the deadline passed while the rest trickled
        try:
            decoder = _Decoder(response.headers.get("Content-Encoding"))
            pieces = itertools.chain(decoder.feed(bytes(raw)), decoder.finish() if whole else ())
            text = b""
            for piece in pieces:  # the start of it: 64 KiB of a compressed page may inflate to gigabytes
                text += piece
                if len(text) >= ERROR_BODY_MAX:
                    return text[:ERROR_BODY_MAX]
            return text
        except (_Damaged, _Unsupported):
            return bytes(raw)

    def _send(self, request: httpx.Request, shown: str) -> httpx.Response:
        """Send, following redirects; a header carrying a registered secret (an API key) is not sent to another
        origin than the request's, the way httpx itself drops Authorization."""
        origin = (request.url.scheme, request.url.host, request.url.port)
        for _ in range(MAX_REDIRECTS + 1):
            hop = self._exchange.url = self.redact(str(request.url))
            try:
                response = self._client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                if not self._exchange.expired:
                    raise
                at = f" from {hop}, where a redirect led" if hop != shown else ""
                what = "no connection" if isinstance(exc, httpx.ConnectTimeout) else "no response headers"
                raise _TooSlow(f"{what}{at} within {self.total_timeout:g}s, the total time for one exchange "
                               "(JLAC_HTTP_TOTAL_TIMEOUT): the server answers too slowly") from None
            if response.next_request is None:
                return response
            self._error_body(response)
            response.close()
            request = response.next_request
            if (request.url.scheme, request.url.host, request.url.port) != origin:
                for name, value in list(request.headers.items()):
                    if any(secret in value for secret in self._secrets):
                        del request.headers[name]
            self._say(f"GET {shown}: HTTP {response.status_code}, redirected to {self.redact(str(request.url))}")
        raise HttpError(f"GET {shown}: more than {MAX_REDIRECTS} redirects (a redirect loop?)", shown)

    def _attempt(self, request: httpx.Request, shown: str, dest_dir: Path):
        """One exchange: (Download, None, '') on success, or (None, wait-or-None, problem) to retry."""
        started = time.monotonic()
        exchange = self._exchange
        exchange.deadline, exchange.expired, exchange.url = started + self.total_timeout, False, shown
        try:
            return self._exchange_once(request, shown, dest_dir, started)
        finally:
            exchange.deadline = None

    def _exchange_once(self, request: httpx.Request, shown: str, dest_dir: Path, started: float):
        response = self._send(request, shown)
        try:
            status = response.status_code
            if status == 304:
                return self._download(response, shown, None, 0), None, ""
            if status in RETRY_STATUS:
                after = retry_after_seconds(response.headers.get("Retry-After"))
                if after is not None and after > self.max_retry_after:
                    raise HttpError(
                        f"GET {shown}: HTTP {status}, server asks to retry after {after:.0f}s "
                        f"(more than the {self.max_retry_after:.0f}s jlac waits); try again later",
                        shown,
                        status,
                    )
                problem = f"HTTP {status}{self._at(shown)}" + (
                    f" (Retry-After {after:.0f}s)" if after is not None else "")
                self._error_body(response)
                self.stats.bytes += response.num_bytes_downloaded
                return None, after, problem
            # where the answer came from, when a redirect led elsewhere: the URL that failed is that one
            final = self.redact(str(response.url))
            there = f" (redirected to {final})" if final != shown else ""
            if status >= 400:
                body = self._error_body(response)
                self.stats.bytes += response.num_bytes_downloaded
                text = self.redact(body[:2000].decode("utf-8", "replace")).strip()
                snippet = text[:300].replace("\n", " ")
                raise HttpError(
                    f"GET {shown}{there}: HTTP {_status_line(response)}; body starts: {snippet!r}",
                    shown,
                    status,
                    body=text,
                )
            if 300 <= status < 400:  # a redirect not followed (no Location): no data, whatever its body holds
                self._error_body(response)
                self.stats.bytes += response.num_bytes_downloaded
                raise HttpError(
                    f"GET {shown}{there}: HTTP {_status_line(response)} without a Location header to "
                    "follow; expected the data or a redirect to it",
                    shown,
                    status,
                )
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > self.max_bytes:
                raise self._too_large(shown, there, f"announces {int(announced):,} bytes")
            decoder = _Decoder(response.headers.get("Content-Encoding"))
            headers_after = time.monotonic() - started
            try:
                dest_dir.mkdir(parents=True, exist_ok=True)
                fd, tmp_name = tempfile.mkstemp(prefix=".part-", dir=dest_dir)
            except OSError as exc:
                raise _WriteFailed(exc, "creating a temporary file for the body in", dest_dir) from None
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as fh:
                    try:
                        written = 0

                        def take(pieces) -> None:
                            nonlocal written
                            for data in pieces:
                                written += len(data)
                                if written > self.max_bytes:
                                    raise self._too_large(shown, there, f"passed {self.max_bytes:,} bytes")
                                _write(fh, data, tmp)

                        for chunk in response.iter_raw():
                            take(decoder.feed(chunk))
                            if time.monotonic() - started > self.total_timeout:  # bytes keep coming, fast or not
                                raise self._too_slow(response, headers_after)
                        wire = response.num_bytes_downloaded
                    except httpx.TimeoutException:
                        if not self._exchange.expired:
                            raise
                        raise self._too_slow(response, headers_after) from None
                    self.stats.bytes += wire
                    # Content-Length counts the bytes as sent (compressed or not)
                    expected = response.headers.get("Content-Length")
                    if expected and expected.isdigit() and wire != int(expected):
                        raise httpx.RemoteProtocolError(f"truncated body: received {wire} of {expected} bytes")
                    take(decoder.finish())
                    try:
                        fh.flush()  # a full disk shows here, not at close, where it would be a bare OSError
                    except OSError as exc:
                        raise _WriteFailed(exc, "writing the body to", tmp) from None
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            return self._download(response, shown, tmp, tmp.stat().st_size), None, ""
        finally:
            response.close()

    def _too_large(self, shown: str, there: str, what: str) -> HttpError:
        return HttpError(f"GET {shown}{there}: the body {what}, more than the {self.max_bytes:,} bytes jlac takes from "
                         "one answer (JLAC_HTTP_MAX_BYTES): not the data expected, or raise the limit", shown)

    def _too_slow(self, response: httpx.Response, headers_after: float) -> _TooSlow:
        return _TooSlow(f"body still arriving after {self.total_timeout:g}s, the total time for one exchange "
                        f"({response.num_bytes_downloaded:,} bytes so far; the headers came after {headers_after:.1f}s)"
                        ": the server sends too slowly")

    def _download(self, response: httpx.Response, shown: str, path: Path | None, size: int) -> Download:
        if path is not None:
            self._say(f"GET {shown}: {response.status_code}, {size:,} bytes")
        else:
            self._say(f"GET {shown}: 304 not modified")
        return Download(
            url=shown,
            status=response.status_code,
            path=path,
            bytes=size,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            content_type=response.headers.get("Content-Type", ""),
            not_modified=path is None,
            final_url=_without_query(final) if (final := self.redact(str(response.url))) != shown else None,
            close_delimited=path is not None and response.http_version.startswith("HTTP/1")
            and response.headers.get("Content-Length") is None
            and "chunked" not in response.headers.get("Transfer-Encoding", "").lower(),
        )


def _status_line(response: httpx.Response) -> str:
    """``520`` or ``404 Not Found``: a status without a reason phrase (a CDN's 52x) read "HTTP 520 ;"."""
    return f"{response.status_code} {response.reason_phrase}".strip()


def _without_query(url: str) -> str:
    """A redirect's target as provenance: scheme, host and path. Its query is left out, as a signed download link
    (``X-Amz-Signature=...``) is a credential that must not be kept in a manifest."""
    return urlunsplit(urlsplit(url)._replace(query="", fragment=""))


def now_iso() -> str:
    """Retrieval time for manifests (UTC, seconds)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()
