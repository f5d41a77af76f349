"""Settings from the environment: a value jlac cannot use is refused naming the variable, and the CLI says so in
one line (exit status 1), not a traceback."""

from __future__ import annotations

import os
import sys

import pytest
from jlac.config import env_number
from jlac.errors import JlacError, SettingError


def test_numbers_from_the_environment(monkeypatch):
    monkeypatch.delenv("JLAC_TEST_N", raising=False)
    assert env_number("JLAC_TEST_N", 4) == 4
    for value, default, expected in (("", 4, 4), (" 7 ", 4, 7), ("0.5", 10.0, 0.5), ("3", 10.0, 3.0)):
        monkeypatch.setenv("JLAC_TEST_N", value)
        got = env_number("JLAC_TEST_N", default)
        assert got == expected and type(got) is type(default)


@pytest.mark.parametrize(("value", "default", "minimum"), [("x", 4, 0), ("2.5", 4, 0), ("-1", 4, 0), ("nan", 1.0, 0),
                                                           ("0.05", 10.0, 0.1), ("1961", 2015, 1962)])
def test_a_number_jlac_cannot_use_is_named(monkeypatch, value, default, minimum):
    monkeypatch.setenv("JLAC_TEST_N", value)
    with pytest.raises(SettingError, match=rf"JLAC_TEST_N='{value}': expected a (whole )?number of at least "
                                           rf"{minimum} \(default {default}\)"):
        env_number("JLAC_TEST_N", default, minimum=minimum)


def test_setting_errors_are_jlac_errors_and_value_errors():
    assert issubclass(SettingError, JlacError) and issubclass(SettingError, ValueError)


@pytest.mark.parametrize(("var", "value", "args", "message"), [
    ("JLAC_QUARANTINE_MAX_SHARE", "abc", ["sources"],
     "JLAC_QUARANTINE_MAX_SHARE='abc': expected a share between 0 and 1"),
    ("JLAC_HTTP_RETRIES", "many", ["fetch", "fred-exjpus"], "JLAC_HTTP_RETRIES='many': expected a whole number"),
])
def test_the_cli_names_a_bad_setting_in_one_line(monkeypatch, capsys, tmp_path, var, value, args, message):
    from jlac import cli

    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "jlac.duckdb"))
    monkeypatch.setenv(var, value)
    monkeypatch.setattr(sys, "argv", ["jlac", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert f"jlac: SettingError: {message}" in err
    assert "Traceback" not in err


def test_comtrade_years_the_wrong_way_round(monkeypatch, tmp_path):
    from jlac.config import Settings
    from jlac.sources.comtrade_v1 import connector

    monkeypatch.setenv("JLAC_COMTRADE_START", "2030")
    monkeypatch.setenv("JLAC_COMTRADE_END", "2020")
    settings = Settings(warehouse=tmp_path / "jlac.duckdb", snapshots=tmp_path / "s", mirrors=(), output=tmp_path)
    with pytest.raises(SettingError, match="JLAC_COMTRADE_START=2030 is after JLAC_COMTRADE_END=2020"):
        connector.fetch(settings, connector.make_client())


@pytest.mark.parametrize("server", ["closed port", "not prefect", "never answers", "trickles"])
def test_a_prefect_server_that_does_not_answer_is_named_before_the_refresh(monkeypatch, capsys, tmp_path, server,
                                                                          httpserver):
    """A closed port, an HTTP server that is not Prefect's (it answered /health with 200, then an 87-line traceback)
    and one that accepts and never answers (the command waited 7 minutes): one line, at once (found by a QA pass)."""
    import socket
    import time

    from jlac import cli
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from pytest_httpserver import HTTPServer
    from werkzeug import Request, Response

    listener = slow = None
    if server == "trickles":  # headers at once, then a byte a second: no single wait for bytes reaches the bound
        def trickle(request: Request) -> Response:
            def body():
                for _ in range(25):
                    time.sleep(1)
                    yield b" "
            return Response(body(), status=200, content_type="application/json")

        slow = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        slow.start()
        slow.expect_request("/api/health").respond_with_handler(trickle)
        url = slow.url_for("/api")
    elif server == "not prefect":
        httpserver.expect_request("/api/health").respond_with_data("<html>ok</html>", content_type="text/html")
        httpserver.expect_request("/api/admin/version").respond_with_data("<html>ok</html>", content_type="text/html")
        url = httpserver.url_for("/api")
    else:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/api"
        if server == "never answers":
            listener.listen(8)  # connections are accepted by the kernel, and never read
        else:
            listener.close()  # a free port, closed again: connecting to it is refused
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "jlac.duckdb"))
    monkeypatch.setattr(sys, "argv", ["jlac", "refresh"])
    monkeypatch.setattr(cli, "API_CHECK_SECONDS", 3)  # the bound, shorter: the two silent servers wait it out
    start = time.monotonic()
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}), pytest.raises(SystemExit) as exit_:
            cli.main()
    finally:
        if listener is not None:
            listener.close()
        if slow is not None:
            slow.clear()
            slow.stop()
    assert exit_.value.code == 1
    # the bound in all (a server trickling its answer, a byte a second for 25 s, held the check for as long as it
    # trickled; found by a QA pass)
    assert time.monotonic() - start < 3 + 5
    err = " ".join(capsys.readouterr().err.split())
    assert f"jlac: JlacError: PREFECT_API_URL={url}: no Prefect API answers there" in err
    assert "unset PREFECT_API_URL" in err and "Traceback" not in err
    assert not (tmp_path / "jlac.duckdb").exists()


def test_two_warehouse_homes_share_one_cache(monkeypatch, tmp_path, mirror, caplog):
    """JLAC_CACHE: a snapshot parsed for one home is not parsed again for another; unset, each home keeps its own."""
    import logging

    from jlac import parse
    from jlac.config import get_settings
    from jlac.snapshots import latest_snapshot
    from jlac.sources import all_sources

    monkeypatch.setenv("JLAC_MIRROR", str(mirror))
    monkeypatch.setenv("JLAC_CACHE", str(tmp_path / "shared-cache"))
    fred = all_sources()["fred-exjpus"]
    batches = []
    for home in ("staging", "production"):
        monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / home / "jlac.duckdb"))
        settings = get_settings()
        assert settings.cache_dir == tmp_path / "shared-cache"
        with caplog.at_level(logging.INFO, logger="jlac.parse"):
            caplog.clear()
            batches.append(parse.parse_to_cache(settings, fred, latest_snapshot("fred-exjpus", settings)))
        batches.append("skipped" if "parse skipped" in caplog.text else "parsed")
    assert batches[0] == batches[2] and batches[0].parent.parent == tmp_path / "shared-cache"
    assert batches[1::2] == ["parsed", "skipped"]
    monkeypatch.delenv("JLAC_CACHE")
    assert get_settings().cache_dir == tmp_path / "production" / "cache"


def test_installed_from_a_wheel_the_warehouse_defaults_to_the_current_folder(tmp_path, monkeypatch):
    """Found by a QA pass: installed from a wheel, `jlac refresh` wrote warehouse/ into the virtualenv's lib folder
    (the package's parents[2]); in a checkout it stays the checkout's."""
    from jlac import config

    assert config.default_root() == config.PROJECT_ROOT  # this checkout: pyproject.toml beside flows/
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path / "venv" / "lib" / "python3.11")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JLAC_WAREHOUSE", raising=False)
    assert config.get_settings().warehouse == tmp_path / "warehouse" / "jlac.duckdb"


@pytest.mark.parametrize("command", [["status"], ["sql", "SELECT 1"], ["refresh"]])
def test_a_locale_whose_file_names_are_not_utf8_and_a_non_ascii_path_are_named(tmp_path, command):
    """Under a locale naming files in another encoding (here C without Python's UTF-8 mode), Python and DuckDB name a
    path with ñ by different bytes: an intact warehouse read as "does not exist", with the advice to build a new one,
    a refresh's parse "failed unexpectedly" and `jlac sql` ended in `std::bad_cast` (found by a QA pass)."""
    import os
    import subprocess

    home = tmp_path / "ñandú"
    env = {**os.environ, "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "LC_ALL": "C",
           "JLAC_WAREHOUSE": str(home / "wh" / "jlac.duckdb")}
    proc = subprocess.run([sys.executable, "-m", "jlac.cli", *command], env=env, capture_output=True, timeout=120)
    err = " ".join(proc.stderr.decode("utf-8", "replace").split())
    assert proc.returncode == 1 and "Traceback" not in err, err[-3000:]
    assert "jlac: SettingError: JLAC_WAREHOUSE " in err and "this process names files in ascii" in err and \
        "Use a UTF-8 locale (e.g. LC_ALL=C.UTF-8) or a path of ASCII characters" in err, err
    assert not (home / "wh").exists()


@pytest.mark.parametrize("var, path", [("JLAC_WAREHOUSE", "wh/jl\\ac.duckdb"), ("JLAC_WAREHOUSE", "x\\y/jlac.duckdb"),
                                       ("JLAC_CACHE", "ca\\che"), ("JLAC_DBT_HOME", "db\\t")])
def test_a_backslash_in_a_path_is_refused_as_duckdb_reads_it_as_a_separator(tmp_path, monkeypatch, var, path):
    """DuckDB opens "jl\\ac.duckdb" as "jl/ac.duckdb": a refresh published where no reader found the file, each next
    one rebuilt in full and recorded no revisions (found by a QA pass)."""
    from jlac.config import get_settings

    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "wh" / "jlac.duckdb"))
    monkeypatch.setenv(var, str(tmp_path / path))
    with pytest.raises(SettingError, match=rf"^{var} .*: DuckDB reads a backslash in a path as a folder separator"):
        get_settings()


def test_credentials_in_prefect_api_url_are_never_shown(monkeypatch, tmp_path, capsys):
    """PREFECT_API_URL with a password (http://user:password@host/api) or a ?token=: the CLI's one line about a server
    that does not answer printed the URL whole, and Prefect, deriving its UI's address from it, printed it in every
    run's "View at ..." line and jlac's alerts carried it (found by a QA pass). Shown without them everywhere."""
    import socket

    from jlac import cli
    from jlac.ops import alerts
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connecting is refused
    url = f"http://admin:SECRET-PREFECT-333@127.0.0.1:{port}/api?token=SECRET-TOK%2F444"
    monkeypatch.setenv("JLAC_WAREHOUSE", str(tmp_path / "jlac.duckdb"))
    monkeypatch.setattr(sys, "argv", ["jlac", "refresh"])
    with temporary_settings(updates={PREFECT_API_URL: url}), pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert f"PREFECT_API_URL=http://127.0.0.1:{port}/api: no Prefect API answers there" in " ".join(err.split())
    assert "SECRET" not in err and "admin:" not in err, err
    # Prefect's run lines ("View at <UI URL>"), whatever set the API's address (prefect.toml, a profile, a .env)
    import logging

    runs = logging.getLogger("prefect.flow_runs")  # its filters, as Prefect's handlers get the record after them
    record = runs.makeRecord(runs.name, logging.INFO, __file__, 0, "View at %s/runs/flow-run/x",
                             (url.removesuffix("/api"),), None)
    assert runs.filter(record)
    assert "SECRET" not in record.getMessage() and f"127.0.0.1:{port}" in record.getMessage(), record.getMessage()
    # an unencoded '/' in the password: httpx reads part of it as the port ("Invalid port: 'Sup3r'", in a traceback)
    slashed = f"http://alice:Sup3r/SECRET-7@127.0.0.1:{port}/api"
    with temporary_settings(updates={PREFECT_API_URL: slashed}), pytest.raises(SystemExit) as exit_:
        cli.main()
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and "Traceback" not in err and "SECRET" not in err and "Sup3r" not in err, err
    assert f"PREFECT_API_URL=http://127.0.0.1:{port}/api: no Prefect API answers there" in " ".join(err.split())

    # before Prefect reads its settings: the UI's address is the server's, without the credentials
    monkeypatch.setenv("PREFECT_API_URL", url)
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    cli._prefect_defaults()
    assert cli.os.environ["PREFECT_UI_URL"] == f"http://127.0.0.1:{port}"
    monkeypatch.setenv("PREFECT_UI_URL", "https://prefect.example.org/ui")  # one the user set is theirs
    cli._prefect_defaults()
    assert cli.os.environ["PREFECT_UI_URL"] == "https://prefect.example.org/ui"
    # the alert's link, whatever set the UI's address (a Prefect profile, a worker's environment)
    with temporary_settings(updates={PREFECT_UI_URL: f"http://admin:SECRET-5@127.0.0.1:{port}/?t=SECRET-6"}):
        assert alerts.ui_url("abc") == f"http://127.0.0.1:{port}/runs/flow-run/abc"


def test_a_folder_this_user_cannot_enter_is_named_with_its_mode_and_what_to_do(monkeypatch, tmp_path, capsys):
    """A warehouse in another user's folder (no x for this user): `jlac sql`, `refresh` and `status` said only
    "PermissionError: Permission denied: <a file inside it>" (found by a non-root QA pass). The folder that stops the
    user is named, with its mode and owner. Root passes every permission check, so the refusal is simulated."""
    import os
    import pathlib

    from jlac import cli
    from jlac.ops import status

    home = tmp_path / "theirs" / "warehouse"
    home.mkdir(parents=True)
    monkeypatch.setenv("JLAC_WAREHOUSE", str(home / "jlac.duckdb"))
    ledger = home / "runs.jsonl"

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(ledger))

    monkeypatch.setattr(status, "read_ledger", denied)
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: pathlib.Path(p) != tmp_path / "theirs")
    monkeypatch.setattr(sys, "argv", ["jlac", "status"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"jlac: PermissionError: Permission denied: {ledger}; this user (uid {os.geteuid()}) may not enter " \
           f"{tmp_path / 'theirs'} (mode drwx" in err, err
    assert "ask its owner for access, or point the JLAC_* setting that names it at a folder of your own" in err


def test_settings_made_in_python_take_strings_and_relative_paths(tmp_path, monkeypatch):
    """A notebook's Settings("relhome/wh/jlac.duckdb", ...): dbt, which resolves a relative target folder against its
    project, wrote into jlac's own package and the refresh failed after the whole build; strings failed in a traceback
    (found by a QA pass). Every path is made absolute against the current folder, and a single mirror may be one."""
    from pathlib import Path

    from jlac import transform
    from jlac.config import Settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JLAC_DBT_HOME", raising=False)
    settings = Settings("relhome/wh/jlac.duckdb", "relhome/wh/snapshots", "mirror", Path("relhome/out"))
    assert settings.warehouse == tmp_path / "relhome" / "wh" / "jlac.duckdb"
    assert settings.mirrors == (tmp_path / "mirror",) and settings.output == tmp_path / "relhome" / "out"
    assert transform.dbt_home(settings) == tmp_path / "relhome" / "wh" / ".dbt"
    monkeypatch.setenv("JLAC_DBT_HOME", "dbt-here")
    assert transform.dbt_home(settings) == tmp_path / "dbt-here"


def test_an_open_file_limit_too_low_for_a_refresh_is_one_line(tmp_path):
    """`ulimit -n 16`: Prefect's temporary API inherited it and logged 842 MB of "socket.accept() out of system
    resource" before the refresh failed after 10 minutes, blaming a cache file (found by a QA pass). A hard limit too
    low is refused at once; a low soft limit is raised to what the hard one allows, and reading commands run."""
    import resource
    import subprocess
    import sys

    def limit(soft, hard):
        return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    env = {**os.environ, "JLAC_WAREHOUSE": str(tmp_path / "wh" / "jlac.duckdb"), "JLAC_MIRROR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "jlac.cli", "refresh"], env=env, capture_output=True, text=True,
                          timeout=120, preexec_fn=limit(16, 16))
    assert done.returncode == 1
    assert done.stderr.strip() == ("jlac: JlacError: the open-file limit is 16 (`ulimit -n`; its hard limit 16), and "
                                   "`jlac refresh` needs at least 32 (Prefect's API, dbt and DuckDB each hold files): "
                                   "raise it, e.g. `ulimit -n 1024`, or LimitNOFILE= in its systemd service")
    assert not (tmp_path / "wh" / "runs.jsonl").exists()  # refused before any run
    helped = subprocess.run([sys.executable, "-m", "jlac.cli", "refresh", "--help"], env=env, capture_output=True,
                            text=True, timeout=120, preexec_fn=limit(16, 16))
    assert helped.returncode == 0 and "Usage" in helped.stdout, helped.stderr  # help, whatever the limit
    code = ("import resource, sys; from jlac.cli import _open_files; _open_files('refresh'); "
            "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])")
    raised = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                            preexec_fn=limit(16, 4096))
    assert raised.stdout.strip() == "1024", raised.stderr
