"""FRED and MOF customs connectors against a local server (FRED replays the mirrored fredgraph CSV)."""

from __future__ import annotations

import contextlib

import duckdb
import pytest
from conftest import MIRROR
from jlac.config import get_settings
from jlac.connectors import fetch_all
from jlac.errors import ParseError
from jlac.http import HttpClient
from jlac.snapshots import list_vintages
from jlac.sources.fred_exjpus import source as fred_exjpus
from jlac.sources.mof_customs import source as mof_customs

FRED_CSV = next((MIRROR / "fred-exjpus").glob("*/EXJPUS.csv"))

# d41ma.csv as MOF describes it: Shift-JIS, a title line, Years/Months then totals in thousand yen,
# the months after the latest one padded with zeros.
MOF_CSV = (
    "輸出入総額の推移（千円）\r\n"
    "Years/Months,Exp-Total,Imp-Total\r\n"
    '2024/11,"9,153,262,000","9,263,100,000"\r\n'
    "2024/12,9910999000,9780290000\r\n"
    "2025/01,0,0\r\n"
).encode("cp932")


@pytest.fixture
def env(tmp_path, monkeypatch, httpserver):
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv("JLAC_SNAPSHOTS", str(tmp_path / "store"))
    monkeypatch.setenv("JLAC_MIRROR", "")
    monkeypatch.setenv("JLAC_FRED_URL", httpserver.url_for("/"))
    monkeypatch.setenv("JLAC_MOF_URL", httpserver.url_for("/toukei"))
    return get_settings()


def make(progress=None):
    return HttpClient(retries=1, backoff=0.0, sleep=lambda s: None, progress=progress)


def test_fred_snapshot_reads_with_the_mirror_parser(env, httpserver):
    httpserver.expect_request("/graph/fredgraph.csv", query_string="id=EXJPUS").respond_with_data(
        FRED_CSV.read_bytes(), content_type="text/csv"
    )
    [first] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert first.status == "new"
    [snap] = list_vintages("fred-exjpus", env)
    rows = fred_exjpus.SOURCE.parse(snap, duckdb.connect())
    assert rows.filter("month = DATE '1971-01-01'").select("jpy_per_usd").fetchall() == [(358.02,)]
    [second] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert second.status == "unchanged" and len(list_vintages("fred-exjpus", env)) == 1


def test_fred_old_header_is_normalised_and_html_fails(env, httpserver):
    whole = FRED_CSV.read_bytes()  # the mirror's series under FRED's older header (the checks ask for 12 months)
    httpserver.expect_oneshot_request("/graph/fredgraph.csv").respond_with_data(
        whole.replace(b"observation_date,EXJPUS\n", b"DATE,EXJPUS\n", 1)
    )
    [ok] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert ok.status == "new", ok.message
    [snap] = list_vintages("fred-exjpus", env)
    assert snap.path("EXJPUS.csv").read_bytes() == whole
    httpserver.expect_oneshot_request("/graph/fredgraph.csv").respond_with_data(
        "<html><title>Error</title></html>", content_type="text/html"
    )
    [bad] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert bad.status == "failed" and "an HTML page where the fredgraph CSV was expected" in bad.message
    assert len(list_vintages("fred-exjpus", env)) == 1  # the last good vintage stays


def test_mof_customs_csv(env, httpserver):
    httpserver.expect_request("/toukei/suii/html/data/d41ma.csv").respond_with_data(
        MOF_CSV, content_type="text/csv"
    )
    [result] = fetch_all(["mof-customs"], env, client_factory=make)
    assert result.status == "new", result.message
    [snap] = list_vintages("mof-customs", env)
    rows = mof_customs.SOURCE.parse(snap, duckdb.connect()).order("month, flow")
    assert rows.select("strftime(month, '%Y-%m'), flow, partner_code, value_jpy_thousand").fetchall() == [
        ("2024-11", "export", "Total", 9_153_262_000),
        ("2024-11", "import", "Total", 9_263_100_000),
        ("2024-12", "export", "Total", 9_910_999_000),
        ("2024-12", "import", "Total", 9_780_290_000),
    ]  # the zero-padded 2025/01 is dropped


def test_mof_customs_changed_layout_fails(env, httpserver):
    httpserver.expect_request("/toukei/suii/html/data/d41ma.csv").respond_with_data(
        "Years/Months,Exports,Imports\r\n2024/12,1,2\r\n".encode("cp932")
    )
    [result] = fetch_all(["mof-customs"], env, client_factory=make)
    assert result.status == "failed"
    assert (
        "no header with Exp-/Imp- columns" in result.message
        and "/toukei/suii/html/data/d41ma.csv" in result.message
    )


def test_mof_customs_error_page_in_utf8_is_named_an_html_page(env, httpserver):
    # customs.go.jp's pages are UTF-8: a "page not found" answered with 200 does not decode as cp932
    page = ('<!DOCTYPE html>\n<html lang="ja"><head><meta charset="UTF-8"><title>ページが見つかりません｜税関 Japan '
            'Customs</title></head><body>お探しのページは見つかりませんでした。</body></html>')
    httpserver.expect_request("/toukei/suii/html/data/d41ma.csv").respond_with_data(
        page.encode("utf-8"), content_type="text/html; charset=UTF-8")
    [result] = fetch_all(["mof-customs"], env, client_factory=make)
    assert result.status == "failed"
    assert "d41ma.csv: an HTML page where a MOF customs CSV was expected" in result.message, result.message
    assert list_vintages("mof-customs", env) == []


def test_mof_customs_csv_cut_inside_a_quoted_cell_fails(env, httpserver):
    # a body that ends inside "9,263,100,000": read loosely, 2024/11 imports became 92,631 thousand yen... stored
    cut = MOF_CSV[: MOF_CSV.index(b'"9,263,1') + 7]
    httpserver.expect_request("/toukei/suii/html/data/d41ma.csv").respond_with_data(cut)
    [result] = fetch_all(["mof-customs"], env, client_factory=make)
    assert result.status == "failed", result.message
    assert "not well-formed CSV" in result.message and "d41ma.csv" in result.message
    assert list_vintages("mof-customs", env) == []


MOF_ROWS = [("2024-11", "Exp-Total", 9_153_262_000), ("2024-11", "Imp-Total", 9_263_100_000),
            ("2024-12", "Exp-Total", 9_910_999_000), ("2024-12", "Imp-Total", 9_780_290_000)]


def read_mof(tmp_path, body: bytes) -> list[tuple]:
    """MOF_CSV's reader on ``body``: (month, column, thousand yen) per value."""
    path = tmp_path / "d41ma.csv"
    path.write_bytes(body)
    return [(f"{r[1]:%Y-%m}", r[2], r[5]) for r in mof_customs.read_mof_csv(path, "mof-customs x/d41ma.csv")]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_mof_customs_csv_saved_as_utf8_reads_as_the_cp932_one(tmp_path, encoding):
    """A QA pass: the file saved as UTF-8 was refused ('not Shift-JIS (cp932) text'). Its unit is still checked."""
    text = MOF_CSV.decode("cp932")
    assert read_mof(tmp_path, text.encode(encoding)) == read_mof(tmp_path, MOF_CSV) == MOF_ROWS
    with pytest.raises(ParseError, match=r"line 1: the title gives the values in '百万円'"):
        read_mof(tmp_path, text.replace("千円", "百万円").encode(encoding))


def test_mof_customs_bytes_that_read_as_utf8_and_cp932_are_not_misread(tmp_path):
    """Half-width katakana in cp932 can be valid UTF-8 ('ﾃｽ' is the bytes of 'ý'): such a title reads either way, the
    values the same; a partner code that reads differently is refused, not published under one reading's name."""
    both = MOF_CSV.replace("輸出入総額の推移（千円）".encode("cp932"), "ﾃｽﾃｽ".encode("cp932"))
    assert both.decode("utf-8") != both.decode("cp932")  # two readings of the title to choose from
    assert read_mof(tmp_path, both) == MOF_ROWS
    code = both.replace(b"-Total", "-ﾃｽ".encode("cp932"))
    assert code.decode("utf-8") != code.decode("cp932")
    with pytest.raises(ParseError, match=r"line 2: reads differently as UTF-8 and as Shift-JIS \(cp932\)"):
        read_mof(tmp_path, code)


def test_mof_customs_future_months_padded_with_blanks_are_not_published(tmp_path):
    """A QA pass: months not yet published, holding blanks instead of numbers, were refused ("found '   '"). They are
    dropped like the zero-padded ones (never read as 0); a blank month before a published one, or one blank among a
    month's values, is refused naming the line."""
    padded = MOF_CSV + "2025/02,   ,   \r\n2025/03,,\r\n".encode("cp932")
    assert read_mof(tmp_path, padded) == MOF_ROWS
    hole = MOF_CSV.replace(b'"9,153,262,000","9,263,100,000"', b" , ")
    with pytest.raises(ParseError, match=r"line 3: 2024/11 has only blank cells, but later months have values"):
        read_mof(tmp_path, hole)
    half = MOF_CSV.replace(b"9780290000", b"   ")
    with pytest.raises(ParseError, match=r"line 4 column Imp-Total: blank, while other columns of '2024/12' have "):
        read_mof(tmp_path, half)


def test_fetch_removes_what_killed_fetches_left_and_writes_a_vintage_others_can_read(env, httpserver):
    import os
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store = env.snapshots / "fred-exjpus"
    for name, pid in ((".incoming-killed", dead.stdout.strip()), (".incoming-running", str(os.getpid()))):
        (store / name).mkdir(parents=True)
        (store / name / ".pid").write_text(pid)
        (store / name / ".part-x").write_text("half a body")
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(FRED_CSV.read_bytes(), content_type="text/csv")
    mask = os.umask(0o022)
    try:
        [result] = fetch_all(["fred-exjpus"], env, client_factory=make)
    finally:
        os.umask(mask)
    assert result.status == "new", result.message
    assert sorted(p.name for p in store.glob(".incoming-*")) == [".incoming-running"]  # a live fetch's is kept
    [snap] = list_vintages("fred-exjpus", env)
    assert oct(snap.root.stat().st_mode & 0o777) == "0o755"  # was 0700 (mkdtemp): other accounts could not read it
    assert {oct(p.stat().st_mode & 0o777) for p in snap.root.iterdir()} == {"0o644"}


def test_a_body_cut_short_without_a_length_is_not_stored(env, httpserver):
    """Found by a QA pass: a server that sent no Content-Length and closed early gave a FRED CSV ending
    "1991-09-01,134.2" (the real value 134.2995, the series running to 2025): stored as a new vintage, and the
    refresh published Figure 1's dollars from 20 years of rates. MOF the same with a file cut to its first months."""
    whole = FRED_CSV.read_bytes()
    assert b"1991-09-01,134.2995\n" in whole  # the mirror's file
    httpserver.expect_oneshot_request("/graph/fredgraph.csv").respond_with_data(whole, content_type="text/csv")
    [first] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert first.status == "new", first.message
    # cut inside a line: no line break at the end
    cut = whole[: whole.index(b"1991-09-01,134.2995") + len(b"1991-09-01,134.2")]
    httpserver.expect_oneshot_request("/graph/fredgraph.csv").respond_with_data(cut, content_type="text/csv")
    [bad] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert bad.status == "failed" and "the body ends inside a line" in bad.message, bad.message
    # cut at a line break: fewer months than the vintage before
    cut = whole[: whole.index(b"1991-10-01")]
    httpserver.expect_oneshot_request("/graph/fredgraph.csv").respond_with_data(cut, content_type="text/csv")
    [bad] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert bad.status == "failed" and "line(s) where the previous vintage" in bad.message, bad.message
    assert len(list_vintages("fred-exjpus", env)) == 1  # only the whole one
    # MOF: a whole file, then one cut after its first month (a valid-looking row)
    httpserver.expect_oneshot_request("/toukei/suii/html/data/d41ma.csv").respond_with_data(MOF_CSV)
    [ok] = fetch_all(["mof-customs"], env, client_factory=make)
    assert ok.status == "new", ok.message
    short = MOF_CSV[: MOF_CSV.index("2024/12".encode("cp932"))]
    httpserver.expect_oneshot_request("/toukei/suii/html/data/d41ma.csv").respond_with_data(short)
    [bad] = fetch_all(["mof-customs"], env, client_factory=make)
    assert bad.status == "failed" and "3 line(s) where the previous vintage" in bad.message, bad.message
    assert len(list_vintages("mof-customs", env)) == 1


def test_validators_the_server_sends_for_unchanged_content_are_the_ones_asked_with_next(env, httpserver):
    """A publisher that stamps the same file anew (a new ETag, the same bytes) answered every later conditional GET
    with the whole file: the new ETag was not kept (no new vintage, and a vintage's manifest is never rewritten)."""
    body = FRED_CSV.read_bytes()
    path = "/graph/fredgraph.csv"
    httpserver.expect_ordered_request(path).respond_with_data(body, headers={"ETag": '"v1"'})
    httpserver.expect_ordered_request(path, headers={"If-None-Match": '"v1"'}).respond_with_data(
        body, headers={"ETag": '"v2"'})  # re-stamped: same bytes
    httpserver.expect_ordered_request(path, headers={"If-None-Match": '"v2"'}).respond_with_data(
        "", status=304, headers={"ETag": '"v2"'})
    results = [fetch_all(["fred-exjpus"], env, client_factory=make)[0] for _ in range(3)]
    assert [r.status for r in results] == ["new", "unchanged", "unchanged"], [r.message for r in results]
    httpserver.check_assertions()
    asked = [req.headers.get("If-None-Match") for req, _ in httpserver.log]
    assert asked == [None, '"v1"', '"v2"']
    assert results[2].bytes == 0  # the third fetch downloaded nothing
    [snap] = list_vintages("fred-exjpus", env)
    assert snap.manifest["requests"][0]["etag"] == '"v1"'  # the vintage's own record is left as written

    # a new release: its manifest holds the newest validators, and the remembered ones go
    httpserver.clear()
    httpserver.expect_request(path).respond_with_data(body + b"2025-05-01,144.93\n", headers={"ETag": '"v3"'})
    [new] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert new.status == "new", new.message
    assert list_vintages("fred-exjpus", env)[-1].manifest["requests"][0]["etag"] == '"v3"'
    assert not (env.snapshots / "fred-exjpus" / ".validators.json").exists()


def test_a_redirected_download_records_where_it_came_from_without_the_signed_query(env, httpserver):
    body = FRED_CSV.read_bytes()
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/files/EXJPUS.csv") + "?X-Amz-Signature=abc123"})
    httpserver.expect_request("/files/EXJPUS.csv").respond_with_data(body, content_type="text/csv")
    [result] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert result.status == "new", result.message
    [request] = list_vintages("fred-exjpus", env)[0].manifest["requests"]
    assert request["url"] == httpserver.url_for("/graph/fredgraph.csv") + "?id=EXJPUS"  # what to ask again
    assert request["redirected_to"] == httpserver.url_for("/files/EXJPUS.csv")
    assert "abc123" not in (list_vintages("fred-exjpus", env)[0].root / "SNAPSHOT.yml").read_text()


def test_remembered_validators_of_files_a_fetch_did_not_ask_for_are_kept(env, tmp_path):
    """A source of several files whose fetch asks for some of them (IMF IMTS's reporters still to do): what was
    remembered for the others stays."""
    import json

    from jlac.connectors import VALIDATORS, Staged, _remember_validators
    from jlac.snapshots import Snapshot

    previous = Snapshot("imf-imts", "2026-11-01", tmp_path, {"requests": [
        {"file": "a.xml", "etag": '"a1"'}, {"file": "b.xml", "etag": '"b1"'}]})
    staged = Staged("imf-imts", tmp_path / "work",
                    fresher={"vintage": "2026-11-01", "files": {"a.xml": {"etag": '"a2"'}}})
    assert staged.validators(previous, "a.xml") == {"etag": '"a2"'}  # remembered beats the manifest
    assert staged.validators(previous, "b.xml") == {"etag": '"b1"'}
    staged.requests.append({"file": "b.xml", "url": "http://x/b", "status": 200, "etag": '"b2"'})
    _remember_validators(env, staged, previous)
    kept = json.loads((env.snapshots / "imf-imts" / VALIDATORS).read_text())
    assert kept == {"vintage": "2026-11-01", "files": {"a.xml": {"etag": '"a2"'}, "b.xml": {"etag": '"b2"'}}}
    # remembered for another vintage: the manifest's
    other = Staged("imf-imts", tmp_path / "work",
                   fresher={"vintage": "2026-10-01", "files": {"a.xml": {"etag": '"x"'}}})
    assert other.validators(previous, "a.xml") == {"etag": '"a1"'}


def _child_env(env, url: str) -> dict:
    import os

    return {**os.environ, "JLAC_WAREHOUSE": str(env.warehouse), "JLAC_SNAPSHOTS": str(env.snapshots),
            "JLAC_MIRROR": "", "JLAC_FRED_URL": url, "JLAC_HTTP_RETRIES": "0"}


def _run_script(script: str, env, url: str):
    """``script`` in a Python process of its own, against this test's store and FRED server."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", script], env=_child_env(env, url), capture_output=True, text=True,
                          timeout=120)


def test_a_vintage_whose_writer_was_killed_is_removed_by_the_next_fetch(env, httpserver):
    """Found by a QA pass: a fetch killed inside write_snapshot (before its final rename) left a hidden folder
    `.<vintage>-<random>` holding the data in the store, which no later fetch removed (they only looked for
    `.incoming-*`)."""
    import os

    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(FRED_CSV.read_bytes(), content_type="text/csv")
    script = (  # killed for real, at the moment the vintage's files are in its hidden folder
        "import os, signal\n"
        "import jlac.snapshots as snapshots\n"
        "from jlac.config import get_settings\n"
        "from jlac.connectors import fetch_all\n"
        "snapshots.shareable = lambda folder: os.kill(os.getpid(), signal.SIGKILL)\n"
        "fetch_all(['fred-exjpus'], get_settings())\n"
    )
    killed = _run_script(script, env, httpserver.url_for("/"))
    assert killed.returncode == -9, killed.stderr[-2000:]
    store = env.snapshots / "fred-exjpus"
    [left] = [p for p in store.iterdir() if p.name.startswith(".") and not p.name.startswith(".incoming-")]
    assert (left / "EXJPUS.csv").exists()  # the data, left behind by the killed writer
    live = store / f".2020-01-01-pid{os.getpid()}-abcd1234"  # a vintage this (live) process is writing: kept
    live.mkdir()
    [result] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert result.status == "new", result.message
    assert sorted(p.name for p in store.iterdir() if p.name.startswith(".")) == [live.name]


def test_a_vintage_that_cannot_be_written_names_the_source_the_step_and_the_folder(env, httpserver):
    """A full disk while writing the vintage gave a bare "[Errno 28] No space left on device". A file-size limit
    (RLIMIT_FSIZE) in a child process makes the manifest's write fail for real."""

    head = b"".join(FRED_CSV.read_bytes().splitlines(keepends=True)[:13])  # twelve months: passes the checks
    assert len(head) < 400
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(head)
    script = (
        "import resource, signal\n"
        "from jlac.config import get_settings\n"
        "from jlac.connectors import make_client\n"
        "import jlac.connectors as connectors\n"
        "from jlac.sources.fred_exjpus import connector\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "write = connectors.write_snapshot\n"
        "def limited(*args, **kwargs):\n"  # once the fetched files passed their checks (which write a scratch file)
        # the CSV fits, the manifest not
        "    resource.setrlimit(resource.RLIMIT_FSIZE, (400, resource.RLIM_INFINITY))\n"
        "    return write(*args, **kwargs)\n"
        "connectors.write_snapshot = limited\n"
        "try:\n"
        "    connector.fetch(get_settings(), make_client())\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc, exc.may_pass)\n"
    )
    out = _run_script(script, env, httpserver.url_for("/"))
    assert out.returncode == 0, out.stderr[-2000:]
    store = env.snapshots / "fred-exjpus"
    assert out.stdout.startswith(f"SnapshotError fred-exjpus: writing {store}/."), out.stdout
    assert "/SNAPSHOT.yml failed: File too large; vintage " in out.stdout and out.stdout.endswith(
        " not written, nothing stored True\n"), out.stdout
    assert [p.name for p in store.iterdir() if not p.name.startswith(".incoming-")] == []  # nothing left


@contextlib.contextmanager
def _fred_answering_slowly():
    """(base URL, event set once asked): a FRED server that takes 5 s to answer, for stopping a fetch mid-request."""
    import threading
    import time

    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    asked = threading.Event()

    def slow(request):
        asked.set()
        time.sleep(5)
        return Response("observation_date,EXJPUS\n")

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request("/graph/fredgraph.csv").respond_with_handler(slow)
    server.start()
    try:
        yield server.url_for("/"), asked
    finally:
        server.clear()
        server.stop()


@pytest.mark.parametrize("signal_name, status, line", [("SIGTERM", 143, "jlac: terminated"),
                                                        ("SIGINT", 130, "jlac: interrupted")])
def test_a_stopped_fetch_says_so_in_one_line_and_in_the_ledger(env, signal_name, status, line):
    """Found by a QA pass: `jlac fetch` died on SIGTERM without a word (status -15) and printed nothing on Ctrl-C,
    where `jlac refresh` prints one line; neither was recorded."""
    import json
    import signal
    import subprocess
    import sys

    with _fred_answering_slowly() as (url, asked):
        proc = subprocess.Popen([sys.executable, "-m", "jlac.cli", "fetch", "fred-exjpus"],
                                env=_child_env(env, url), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        assert asked.wait(120), "the fetch never asked"
        proc.send_signal(getattr(signal, signal_name))
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status and line in stderr and "Traceback" not in stderr, (proc.returncode, stderr)
    [entry] = [json.loads(x) for x in env.fetch_ledger.read_text().splitlines()]
    assert entry["source"] == "fred-exjpus" and entry["status"] == "failed"
    assert "before it finished; nothing was stored" in entry["message"]
    assert list_vintages("fred-exjpus", env) == []


@pytest.mark.parametrize("stop, status", [("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_refresh_stopped_in_its_fetch_is_in_the_ledger_naming_the_source(env, mirror, prefect_api_url, stop,
                                                                           status):
    """A refresh stopped during its fetch stage (the longest stage of a scheduled run, so where systemd's stop lands)
    wrote no ledger line: `jlac status` showed the run before it, and the alert said "crashed: the run" (found by a
    QA pass). Its line says crashed, names the source it was fetching, and its duration counts the fetch."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    with _fred_answering_slowly() as (url, asked):
        child = {**_child_env(env, url), "JLAC_MIRROR": str(mirror),
                 "PREFECT_API_URL": prefect_api_url, "PREFECT_HOME": os.environ["PREFECT_HOME"]}
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "jlac.cli", "refresh", "--fetch", "--source", "fred-exjpus"],
                                env=child, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                # as from a terminal (a runner started under nohup passes SIGHUP on ignored)
                                preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
        assert asked.wait(180), "the fetch never asked"
        asked_after = time.monotonic() - started
        proc.send_signal(getattr(signal, stop))  # SIGHUP: the terminal or the SSH session closed
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == status and "jlac: terminated" in stderr and "Traceback" not in stderr, stderr[-3000:]
    [line] = [json.loads(x) for x in env.run_ledger.read_text().splitlines()]
    assert line["status"] == "crashed" and line["failed_source"] == "fred-exjpus", line
    assert line["duration_s"] > 0 and line["duration_s"] < asked_after + 60, line


def test_two_fetches_of_one_source_at_once_store_one_vintage(env, monkeypatch):
    """Found by a QA pass: two fetches of a source at the same moment (a schedule and a hand-run `jlac fetch`) both
    found the same latest vintage and both wrote the same new content, as two vintages. The compare and the write
    are taken in turns: the second finds the first's vintage and stores nothing."""
    import threading
    import time

    from jlac import connectors

    write = connectors.write_snapshot

    def slow_write(*args, **kwargs):  # hashing a large release takes a while: both fetches are past the compare
        time.sleep(0.5)
        return write(*args, **kwargs)

    monkeypatch.setattr(connectors, "write_snapshot", slow_write)
    results = []

    def fetch_once():
        with connectors.staging(env, "fred-exjpus") as staged:
            path = staged.workdir / "EXJPUS.csv"
            path.write_bytes(FRED_CSV.read_bytes())
            staged.files["EXJPUS.csv"] = path
            results.append(connectors.store_if_changed(env, staged, {"title": "test"}, make()))

    threads = [threading.Thread(target=fetch_once) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results) == ["new", "unchanged"], [r.message for r in results]
    assert len(list_vintages("fred-exjpus", env)) == 1


def test_a_csv_whose_end_only_the_close_marked_must_end_with_a_line_break(env, monkeypatch):
    """Found by a QA pass: a server sending no length and closing inside December 2024's imports (9780290000) gave a
    d41ma.csv ending "97802": stored as the first vintage (nothing earlier to compare with) and published as 97,802
    thousand yen. A body framed only by the connection's close now has to end with a line break."""
    from raw_http import CloseDelimitedServer

    cut = MOF_CSV[: MOF_CSV.index(b"9780290000") + len(b"97802")]
    server = CloseDelimitedServer(cut, MOF_CSV)
    monkeypatch.setenv("JLAC_MOF_URL", server.url("/toukei"))
    try:
        [bad] = fetch_all(["mof-customs"], env, client_factory=make)
        assert bad.status == "failed", bad.message
        assert "mof-customs d41ma.csv GET http://127.0.0.1" in bad.message
        assert "the body ends inside a line (b'" in bad.message and "97802')" in bad.message
        assert "(the server sent no length: the connection's close ended it): cut short in transfer? Not stored" \
            in bad.message
        assert list_vintages("mof-customs", env) == []
        [ok] = fetch_all(["mof-customs"], env, client_factory=make)  # the whole file, framed the same way
        assert ok.status == "new", ok.message
    finally:
        server.close()
    assert server.paths == ["/toukei/suii/html/data/d41ma.csv"] * 2


def test_a_text_page_is_not_called_an_empty_body(env, httpserver):
    page = "\n\n  Service temporarily unavailable. Please try later.\n"
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(page, content_type="text/plain")
    [bad] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert bad.status == "failed" and "empty body" not in bad.message, bad.message
    assert "a text page where the fredgraph CSV was expected: 'Service temporarily unavailable. Please try later.'" \
        in bad.message


def test_a_redirect_to_a_page_the_checks_refuse_names_where_it_led(env, httpserver):
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/maintenance")})
    httpserver.expect_request("/maintenance").respond_with_data("<html><body>Down for maintenance</body></html>",
                                                                content_type="text/html")
    [bad] = fetch_all(["fred-exjpus"], env, client_factory=make)
    assert bad.status == "failed", bad.message
    assert f"(redirected to {httpserver.url_for('/maintenance')}): an HTML page where the fredgraph CSV" in bad.message
