"""Live connectors: fetch a publisher's current release into the snapshot store as a new vintage.

A live source's connector is ``jlac/sources/<table>/connector.py`` (this package holds only what connectors
share: the staging and storing below, ``estat`` and ``oecd`` for the two APIs two sources use). It defines
``SOURCE_NAME`` (its source's name: the snapshot source it writes and its parser reads), ``fetch(settings, client)
-> FetchResult``, ``make_client(progress=None)``, ``FETCH_ORDER`` and, for one release, ``DEPRECATED_NAMES`` (its
old connector names, which ``jlac fetch`` still accepts with a warning).

``jlac fetch`` without arguments runs the connectors by ``FETCH_ORDER``, then name: 10 IMF IMTS, 20 FRED, 30-60 the
trade sources, 70-90 finance. No connector reads another source's vintage (FRED converts MOF's yen at build time,
after every fetch), so the order only decides what has landed when a fetch is cut short: Figure 1's inputs first.

A connector downloads into a hidden staging folder inside the store, checks every body with the parser's own
reader (an HTML error page, an API error message, an empty result, a truncated body or a changed
schema each fail the source with a message naming the request), and writes a vintage with
``jlac.snapshots.write_snapshot`` only when the content differs from the latest vintage and the source's own parser
and Great Expectations checks pass on the staged files (``jlac.connectors.checked``: what a refresh would refuse is
never stored).

"Differs" compares content fingerprints, not raw bytes, because some publishers stamp every
response (SDMX ``<message:Prepared>``, e-Stat ``RESULT.DATE``, Comtrade ``elapsedTime``): each
connector says how to fingerprint its files.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from jlac.config import Settings, env_number
from jlac.errors import JlacError, is_interrupt
from jlac.http import Download, HttpClient, HttpError, now_iso
from jlac.snapshots import Snapshot, latest_snapshot, sha256_file, write_snapshot, writing_folder
from jlac.sources import RegistryError, all_sources, part

log = logging.getLogger(__name__)

class FetchError(JlacError):
    """A publisher's response is not what the connector expected; the message names the request."""

    @classmethod
    def from_http(cls, label: str, exc: HttpError) -> FetchError:
        """``label: <the HTTP failure>``; it may pass when the HTTP failure may (the retries ran out on 5xx)."""
        error = cls(f"{label}: {exc}")
        error.may_pass = exc.may_pass
        error.http = exc  # its status and body, for a connector that reads an error answer as "no data"
        return error


@dataclass
class FetchResult:
    """The outcome of one connector run, as recorded in ``meta.fetches``."""

    source: str
    status: str  # new | unchanged | failed | skipped (offline, or a source that needs a key it lacks)
    vintage: str | None
    requests: int = 0
    bytes: int = 0
    message: str = ""
    # a failure that trying again later may get past (jlac.errors.JlacError.may_pass, an I/O error); not recorded
    may_pass: bool = False


@dataclass
class Staged:
    """Files downloaded for one vintage, before they are written to the store."""

    source: str
    workdir: Path
    files: dict[str, Path] = field(default_factory=dict)  # snapshot-relative name -> temp file
    requests: list[dict] = field(default_factory=list)  # manifest entries: file, url, status, validators
    # the validators a later fetch was sent for the latest vintage's unchanged content (``VALIDATORS``)
    fresher: dict = field(default_factory=dict)

    def remembered(self, previous: Snapshot | None) -> dict:
        """File -> validators kept in ``VALIDATORS`` for ``previous`` (none when they were kept for another vintage)."""
        if previous is None or self.fresher.get("vintage") != previous.vintage:
            return {}
        files = self.fresher.get("files")
        return files if isinstance(files, dict) else {}

    def validators(self, previous: Snapshot | None, name: str) -> dict:
        """ETag / Last-Modified to send for ``name``: what the server last sent for the latest vintage's content
        (a fetch that found it unchanged under new validators), else what that vintage's manifest recorded."""
        newer = self.remembered(previous).get(name)
        return _validators_in(newer) if isinstance(newer, dict) else validators_for(previous, name)

    def keep(self, previous: Snapshot, name: str, why: str, *, link: bool = False, hint: str = "") -> str:
        """Put ``previous``'s file ``name`` into this vintage unchanged, for a part this fetch did not get (``why``,
        as the messages say it): a hard link when ``link`` and the file is on the staging folder's filesystem and this
        user's (writing the vintage sets its modes), else a copy (a mirror's files are never touched). Checked against
        ``previous``'s manifest, so a damaged file is not carried on (FetchError, ``hint`` appended); returns its
        sha256."""
        entry = next(f for f in previous.files if f.path == name)
        src, target = previous.path(name), self.workdir / ".kept" / name
        what = f"{self.source}: {name} of the previous vintage {previous.id}, kept {why},"
        if not src.is_file():
            raise FetchError(f"{what} is missing ({src}); nothing was stored{hint}")
        target.parent.mkdir(parents=True, exist_ok=True)
        st = src.stat()
        linked = False
        if link and st.st_dev == target.parent.stat().st_dev and st.st_uid == os.getuid():
            try:
                os.link(src, target)
                linked = True
            except OSError:  # a filesystem without hard links: copied
                pass
        if not linked:
            shutil.copy2(src, target)
        size, sha = target.stat().st_size, sha256_file(target)
        if sha != entry.sha256 or (entry.bytes is not None and entry.bytes != size):
            raise FetchError(f"{what} does not match its manifest (sha256 {sha[:12]}…, {size:,} bytes; the manifest "
                             f"says {entry.sha256[:12]}…, {entry.bytes} bytes): damaged? Nothing was stored{hint}")
        self.files[name] = target
        return sha

    def add(self, name: str, download: Download, reuse_from: Snapshot | None = None) -> Path:
        """Record a download under ``name``; a 304 reuses the file of the latest vintage."""
        if download.not_modified:
            if reuse_from is None or name not in {f.path for f in reuse_from.files}:
                raise FetchError(
                    f"{self.source}: GET {download.url} answered 304 but no earlier {name} exists"
                )
            target = self.workdir / f".reuse-{len(self.files)}"
            shutil.copy2(reuse_from.path(name), target)
        else:
            assert download.path is not None
            target = download.path
        self.files[name] = target
        # a 304 may leave out the validators (RFC 9110 asks for them, not every server sends them): the file is the
        # earlier one, so are its validators, else the next fetch could not ask conditionally any more
        kept = self.validators(reuse_from, name) if download.not_modified else {}
        # where a redirect led is provenance too: the URL asked for is the one to ask again
        moved = {"redirected_to": download.final_url} if download.final_url else {}
        self.requests.append(
            {"file": name, "url": download.url, **moved, "status": download.status,
             **{**kept, **download.validators()}}
        )
        return target

    def get(self, client: HttpClient, name: str, url: str, previous: Snapshot | None, label: str,
            lines: bool = False, **kwargs) -> tuple[Path, str]:
        """Conditional GET of one file of this vintage (ETag / Last-Modified of ``previous``).

        Returns the file and the request's redacted URL (with where a redirect led, for messages); an HTTP failure
        becomes a FetchError starting with ``label``. ``lines``: the file is text in lines (a CSV); a body whose end
        only the connection's close marked (no length, not chunked) must end with a line break, else it is refused
        as cut short: a CSV cut inside its last number parses, shorter and wrong (found by a QA pass).
        """
        try:
            download = client.download(url, self.workdir, **self.validators(previous, name), **kwargs)
        except HttpError as exc:
            raise FetchError.from_http(label, exc) from None
        # what the connector's own checks of the body name: where a redirect led too (an expired download link
        # sent to a maintenance page said only the URL asked for: found by a QA pass)
        got = download.url + (f" (redirected to {download.final_url})" if download.final_url else "")
        if lines and download.close_delimited and download.path is not None:
            check_line_end(download.path, f"{label} GET {got}", framing=" (the server sent no length: the "
                           "connection's close ended it)")
        return self.add(name, download, reuse_from=previous), got


def base_url(var: str, default: str) -> str:
    """A publisher's base URL: the environment variable ``var`` when set (a mirror, proxy or test server)."""
    return (os.environ.get(var) or default).rstrip("/")


@contextmanager
def staging(settings: Settings, source: str) -> Iterator[Staged]:
    """A fresh hidden folder in the store for one fetch, removed afterwards whatever happens.

    It lives inside the store (same filesystem), so moving its files into a vintage is a rename,
    and its name starts with a dot, so no reader ever takes it for a vintage.
    """
    parent = settings.snapshots / source
    parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(parent)
    workdir = Path(tempfile.mkdtemp(prefix=".incoming-", dir=parent))
    (workdir / OWNER).write_text(str(os.getpid()), encoding="ascii")
    try:
        yield Staged(source, workdir, fresher=_read_validators(parent))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


OWNER = ".pid"  # in a staging folder: the process fetching into it
# In the store's <source>/ folder: the ETag / Last-Modified the server sent when a fetch found the latest vintage's
# content unchanged. A vintage's manifest is never rewritten, and without this a publisher that re-stamps the same
# file (a new ETag, the same bytes) would be asked with the old ETag and send the whole file at every fetch.
VALIDATORS = ".validators.json"


def _read_validators(source_dir: Path) -> dict:
    try:
        data = json.loads((source_dir / VALIDATORS).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or unreadable: the manifest's validators are used
        return {}
    return data if isinstance(data, dict) else {}


def _remember_validators(settings: Settings, staged: Staged, previous: Snapshot) -> None:
    """After a fetch that found ``previous``'s content unchanged: keep the validators the server sent now when
    they differ from those the next fetch would otherwise send."""
    sent = {r["file"]: _validators_in(r) for r in staged.requests}
    if all(v == staged.validators(previous, name) for name, v in sent.items()):
        return
    files = {**staged.remembered(previous), **sent}  # files this fetch did not ask for keep what was remembered
    path = settings.snapshots / staged.source / VALIDATORS
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"vintage": previous.vintage, "files": files}, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # the next fetch asks with the older validators: a full download, nothing wrong stored
        tmp.unlink(missing_ok=True)
        log.warning("%s: could not keep the server's new validators in %s (%s)", staged.source, path, exc)


def _remove_abandoned(parent: Path) -> None:
    """Remove what fetches that were killed (SIGKILL, a power cut: no ``finally`` ran) left in a source's folder: their
    staging folders (``.incoming-*``, the process named by the ``.pid`` inside) and the hidden folders of the vintages
    they were writing (``.<vintage>-pid<N>-*``, the process named in the name). Each is abandoned when its process is
    gone; one that names none (an older jlac) after a day."""
    for folder in parent.iterdir():
        if folder.name.startswith(".incoming-"):
            try:
                pid: int | None = int((folder / OWNER).read_text(encoding="ascii"))
            except (OSError, ValueError):
                pid = None
        elif (writing := writing_folder(folder.name)) is not None:
            pid = writing[1]
        else:
            continue
        if not folder.is_dir() or not _abandoned(folder, pid):
            continue
        log.info("%s: removing %s, left by a fetch that was stopped", parent.name, folder.name)
        shutil.rmtree(folder, ignore_errors=True)


def _abandoned(folder: Path, pid: int | None) -> bool:
    if pid is None:
        try:
            return time.time() - folder.stat().st_mtime > 86400
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's live process
        return False
    return False


def make_client(progress: Callable[[str], None] | None = None, **kwargs) -> HttpClient:
    """An HttpClient with jlac's defaults; timeouts and retries can be tuned by environment variables."""
    return HttpClient(
        connect_timeout=env_number("JLAC_HTTP_CONNECT_TIMEOUT", 10.0, minimum=0.1),
        read_timeout=env_number("JLAC_HTTP_READ_TIMEOUT", 120.0, minimum=0.1),
        total_timeout=env_number("JLAC_HTTP_TOTAL_TIMEOUT", 1800.0, minimum=0.1),
        max_bytes=env_number("JLAC_HTTP_MAX_BYTES", 2 * 1024**3, minimum=1),
        retries=env_number("JLAC_HTTP_RETRIES", 4),
        progress=progress,
        **kwargs,
    )


def validators_for(snapshot: Snapshot | None, name: str) -> dict:
    """ETag / Last-Modified that the latest vintage recorded for one file, for a conditional GET."""
    if snapshot is None:
        return {}
    for req in snapshot.manifest.get("requests") or []:
        if req.get("file") == name:
            return _validators_in(req)
    return {}


def _validators_in(entry: dict) -> dict:
    """The ETag / Last-Modified an entry holds (a manifest's request, a remembered file), only those present."""
    return {k: entry[k] for k in ("etag", "last_modified") if isinstance(entry.get(k), str) and entry[k]}


def raw_fingerprint(path: Path) -> str:
    """A fetched file's fingerprint as its bytes: their sha256 (``store_if_changed``'s default)."""
    return sha256_file(path)


def content_fingerprint(files: dict[str, Path], file_fingerprint: Callable[[Path], str]) -> str:
    """One digest over the files' names and content fingerprints."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(f"{name}\0{file_fingerprint(files[name])}\n".encode())
    return h.hexdigest()


def check_not_cut_short(path: Path, previous: Snapshot | None, name: str, label: str, *,
                        line_end: bool = False, settings: Settings | None = None) -> None:
    """For a file the publisher sends whole at each release (a series' history, then the new months): it holds at
    least the lines of the previous vintage's file and, with ``line_end``, ends with a line break.

    A server that sends no length and closes the connection early (an answer delimited by the close) gives a body
    cut short that HTTP cannot tell from a whole one, and that parses as a valid, shorter series: a FRED file ending
    "1991-09-01,134.2" (for 134.2995) was stored and published. Raises FetchError; nothing is stored.

    The comparison is with the newest vintage the source can read: a vintage its parser or checks refuse (stored by
    an older jlac, or copied into a mirror: a month given twice, one line too many) is skipped, with a warning naming
    it. Compared with such a vintage, every later correct answer was refused as cut short ("653 lines where the
    previous vintage has 654"), for good. With ``settings`` that vintage is looked for only when the file is shorter
    than the previous one's (it costs a parse and a check of the earlier vintages).
    """
    if line_end:
        check_line_end(path, label)
    data = path.read_bytes()
    if previous is None or name not in {f.path for f in previous.files}:
        return
    lines = sum(1 for line in data.splitlines() if line.strip())
    before = _lines(previous, name)
    if lines >= before:
        return
    reference = previous if settings is None else _readable_vintage(settings, previous, label)
    if reference is None or name not in {f.path for f in reference.files}:
        return
    if reference.vintage != previous.vintage:
        before = _lines(reference, name)
        if lines >= before:
            return
    which = "the previous vintage" if reference.vintage == previous.vintage else "the newest vintage the source reads"
    raise FetchError(f"{label}: {lines:,} line(s) where {which} ({reference.id}) has {before:,}; the "
                     "publisher re-sends the whole history, so a shorter file is a body cut short in transfer. "
                     f"Not stored (should the publisher really have shortened {name}, move {reference.root} aside "
                     "and fetch again)")


def check_line_end(path: Path, label: str, framing: str = "") -> None:
    """Raise FetchError unless the (non-empty) file ends with a line break: a body cut short in transfer."""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 40))
        tail = fh.read()
    if tail and not tail.endswith(b"\n"):
        raise FetchError(f"{label}: the body ends inside a line ({tail!r}), not with a line break{framing}: cut short "
                         "in transfer? Not stored")


def _lines(snapshot: Snapshot, name: str) -> int:
    return sum(1 for line in snapshot.path(name).read_bytes().splitlines() if line.strip())


def _readable_vintage(settings: Settings, previous: Snapshot, label: str) -> Snapshot | None:
    """The newest vintage up to ``previous`` that the source reads and its checks pass; None when there is none."""
    from jlac.connectors import checked
    from jlac.snapshots import list_vintages

    candidates = [s for s in list_vintages(previous.source, settings) if s.vintage <= previous.vintage]
    if not any(s.vintage == previous.vintage for s in candidates):
        candidates.append(previous)
    for snap in sorted(candidates, key=lambda s: s.vintage, reverse=True):
        why = checked.refusal(settings, snap)
        if why is None:
            return snap
        log.warning("%s: the vintage %s is not compared with: the source refuses it (%s); move it out of the store",
                    label, snap.id, " ".join(why.split())[:600])
    return None


def store_if_changed(
    settings: Settings,
    staged: Staged,
    metadata: dict,
    client: HttpClient,
    file_fingerprint: Callable[[Path], str] = raw_fingerprint,
) -> FetchResult:
    """Write ``staged`` as a new vintage unless its content equals the latest vintage's. One fetch of a source at a
    time compares and writes (``_store_lock``)."""
    fingerprint = content_fingerprint(staged.files, file_fingerprint)
    with _store_lock(settings, staged.source):
        return _store_unless_latest(settings, staged, metadata, client, file_fingerprint, fingerprint)


@contextmanager
def _store_lock(settings: Settings, source: str) -> Iterator[None]:
    """Two fetches of one source at once (a schedule and a hand-run `jlac fetch`) both found the same latest vintage
    and both wrote the same new content as two vintages (found by a QA pass): the compare and the write are taken in
    turns, the second then finds the first's vintage. An flock on the store's <source>/ folder itself: no lock file
    is left beside the vintages, and a killed fetch's lock goes with its process."""
    folder = settings.snapshots / source
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def _store_unless_latest(settings: Settings, staged: Staged, metadata: dict, client: HttpClient,
                         file_fingerprint: Callable[[Path], str], fingerprint: str) -> FetchResult:
    previous = latest_snapshot(staged.source, settings)
    if previous is not None and previous.manifest.get("content_fingerprint") == fingerprint:
        _remember_validators(settings, staged, previous)
        return FetchResult(
            staged.source,
            "unchanged",
            previous.vintage,
            client.stats.requests,
            client.stats.bytes,
            f"content equals the latest vintage {previous.vintage}; nothing written",
        )
    if previous is not None and "content_fingerprint" not in previous.manifest:
        # A vintage from a mirror or an older jlac: compare its files the same way.
        old = {f.path: previous.path(f.path) for f in previous.files}
        if set(old) == set(staged.files) and content_fingerprint(old, file_fingerprint) == fingerprint:
            _remember_validators(settings, staged, previous)
            return FetchResult(
                staged.source,
                "unchanged",
                previous.vintage,
                client.stats.requests,
                client.stats.bytes,
                f"content equals the latest vintage {previous.vintage}",
            )
    manifest = _redacted({
        **metadata,
        "retrieved_at": now_iso(),
        "retrieved_by": f"jlac connector {_module_name(staged.source)}",
        "content_fingerprint": fingerprint,
        "requests": staged.requests,
    }, client)
    # what the source's parser or checks would refuse is not stored: it would fail every refresh (and a source reading
    # its earlier vintages for good) and be the vintage the next fetches are compared with (jlac.connectors.checked)
    from jlac.connectors import checked

    checked.refuse_unless_checked(settings, staged.source, staged.workdir, staged.files, manifest, previous)
    snap = write_snapshot(settings.snapshots, staged.source, staged.files, manifest)
    (settings.snapshots / staged.source / VALIDATORS).unlink(missing_ok=True)  # the new manifest has the newest
    message = f"new vintage {snap.vintage} ({len(snap.files)} files)"
    if previous is not None:
        message += f", previous {previous.vintage}"
    return FetchResult(staged.source, "new", snap.vintage, client.stats.requests, client.stats.bytes, message)


def _redacted(value, client: HttpClient):
    """``value`` with every string redacted by ``client``: a base URL in ``query`` (``JLAC_IMF_URL`` of a mirror with
    basic auth, http://user:password@host/) is stored as the client shows it, http://user:***@host/."""
    if isinstance(value, str):
        return client.redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v, client) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v, client) for v in value]
    return value


def connectors() -> dict[str, ModuleType]:
    """Every source folder's ``connector.py``, by source name, in fetch order (FETCH_ORDER, then name)."""
    found = {}
    for name, src in all_sources().items():
        module = part(src, "connector")
        if module is None:
            continue
        declared = getattr(module, "SOURCE_NAME", None)
        if declared != name:
            raise RegistryError(f"{src.folder / 'connector.py'}: SOURCE_NAME is {declared!r}, expected its "
                                f"folder's source name {name!r}")
        found[name] = module
    return dict(sorted(found.items(), key=lambda kv: (getattr(kv[1], "FETCH_ORDER", 100), kv[0])))


def _module_name(source: str) -> str:
    module = connectors().get(source)
    return module.__name__ if module else source


def old_names() -> dict[str, str]:
    """Deprecated connector name -> source name (each connector's ``DEPRECATED_NAMES``; removed in jlac 0.2)."""
    return {old: source for source, module in connectors().items() for old in getattr(module, "DEPRECATED_NAMES", ())}


def resolve(name: str) -> str:
    """The source name of a ``jlac fetch`` argument; an old connector name (``fred``) warns and maps to its source."""
    live = connectors()
    if name in live:
        return name
    source = old_names().get(name)
    if source is not None:
        log.warning("%r is the deprecated connector name of the source %r: use `jlac fetch %s`; old names "
                    "stop working in jlac 0.2", name, source, source)
        return source
    raise KeyError(f"no live connector for {name!r}; live sources: {', '.join(live)}")


def connector(source: str) -> ModuleType:
    """The connector module of a source name (or of a deprecated connector name, with a warning)."""
    return connectors()[resolve(source)]


def fetch_all(
    sources: list[str] | None,
    settings: Settings,
    offline: bool = False,
    progress: Callable[[str], None] | None = None,
    client_factory: Callable[..., HttpClient] | None = None,
) -> list[FetchResult]:
    """Run the connectors of ``sources`` (all when None/empty), each independently.

    A failing source is reported with status ``failed`` and the others go on; nothing of a failed
    source reaches the store, so the warehouse keeps building from its last good vintage.
    With ``offline`` no connector runs and nothing touches the network.
    """
    names = connector_names(sources)
    if offline:
        return [FetchResult(n, "skipped", None, message="offline: the network was not touched") for n in names]
    return [fetch_one(name, settings, progress=progress, client_factory=client_factory) for name in names]


def connector_names(sources: list[str] | None) -> list[str]:
    """The sources to fetch, in fetch order (every source with a connector when None/empty); old connector names
    are accepted (with a warning) and unknown ones refused."""
    live = connectors()
    unknown = [n for n in sources or [] if n not in live and n not in old_names()]
    if unknown:
        raise KeyError(f"no live connector for {', '.join(unknown)}; live sources: {', '.join(live)}")
    return [resolve(n) for n in sources] if sources else list(live)


def fetch_one(name: str, settings: Settings, progress: Callable[[str], None] | None = None,
              client_factory: Callable[..., HttpClient] | None = None) -> FetchResult:
    """Run one source's connector; a failure is a result with status ``failed`` (recorded in the fetch ledger)."""
    module = connector(name)
    make = client_factory or module.make_client
    client = make(progress=progress)
    try:
        if progress:
            progress(f"{name}: fetching")
        try:
            result = module.fetch(settings, client)
        except JlacError as exc:
            result = FetchResult(name, "failed", None, client.stats.requests, client.stats.bytes,
                                 client.redact(str(exc)), may_pass=exc.may_pass)
        except OSError as exc:  # a full disk, a folder it may not write: the bare "[Errno 28] ..." named nothing
            result = FetchResult(name, "failed", None, client.stats.requests, client.stats.bytes,
                                 client.redact(_os_error(name, settings, exc)), may_pass=True)
        except Exception as exc:  # noqa: BLE001 - an answer the connector did not foresee: this source fails, the
            # others still run (a traceback here stopped `jlac fetch a b c` at the first), and the ledger says so
            # the traceback as text, redacted: exc_info would be formatted by the handler, after any filter
            log.debug("%s: connector raised\n%s", name, client.redact(traceback.format_exc()))
            result = FetchResult(
                name, "failed", None, client.stats.requests, client.stats.bytes,
                client.redact(f"unexpected {type(exc).__name__} in the {name} connector: {exc} (an answer it does not "
                              "understand, or a bug); nothing was stored, jlac -v fetch shows the traceback"),
            )
        except BaseException as exc:  # KeyboardInterrupt, Prefect's TerminationSignal (jlac fetch's SIGTERM handler)
            if is_interrupt(exc):  # the ledger says the fetch was stopped; nothing of it is stored (staging removed)
                stop = "interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) else "terminated (a stop signal)"
                record_fetches(settings, [FetchResult(name, "failed", None, client.stats.requests, client.stats.bytes,
                                                      f"{name}: {stop} before it finished; nothing was stored")])
            raise
        log.log(
            logging.ERROR if result.status == "failed" else logging.INFO,
            "%s: %s (%s)",
            name,
            result.status,
            client.redact(result.message),
        )
        result.message = client.redact(result.message)  # shown, and kept in the fetch ledger
        if progress:
            progress(
                f"{name}: {result.status}, {result.requests} requests, {result.bytes:,} bytes; "
                f"{result.message}"
            )
    finally:
        client.close()
    record_fetches(settings, [result])
    return result


def _os_error(name: str, settings: Settings, exc: OSError) -> str:
    """A file-system failure of a fetch as a message naming the source, the file and the step."""
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f) or str(settings.snapshots / name)
    return (f"{name}: {exc.strerror or exc} ({where}) while fetching into the snapshot store "
            f"{settings.snapshots}; nothing was stored")


def record_fetches(settings: Settings, results: list[FetchResult]) -> None:
    """Append the outcomes to the fetch ledger (``fetches.jsonl``), the source of ``meta.fetches``."""
    from jlac import ledger

    at = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [json.dumps({"at": at, **{k: v for k, v in asdict(r).items() if k != "may_pass"}}) for r in results]
    ledger.append_lines(settings.fetch_ledger, lines,
                        "the fetch of " + ", ".join(r.source for r in results), "the fetch ledger")
