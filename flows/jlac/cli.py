"""The ``jlac`` command line: refresh the warehouse, render figures, query it read-only."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pkgutil
import signal
import sys
from enum import StrEnum

import httpx
import typer
from rich import box
from rich.markup import escape
from rich.text import Text
from typer.core import TyperCommand, TyperGroup, TyperOption

import jlac
from jlac import console_log, ledger, preflight, stops
from jlac import printing as out
from jlac.config import get_settings
from jlac.errors import JlacError, RefreshBusy, is_interrupt, quiet_jlac_tracebacks, why_denied
from jlac.snapshots import vintage_problem

# Commands that only read the warehouse or the snapshots run no flow: they create no Prefect home (a mistyped
# JLAC_WAREHOUSE must not leave folders behind).
# commands whose stdout may be data for another program (csv, json): never written otherwise than asked
DATA_ON_STDOUT = frozenset({"sql", "status"})
READ_ONLY_COMMANDS = frozenset({"sql", "figures", "report", "export", "status", "sources", "revisions", "serve-sql",
                                "health"})


def _prefect_env(command: str | None = None) -> None:
    """Prefect settings for a CLI run (before Prefect is imported): keep the temporary API's state beside the
    warehouse rather than in a ~/.prefect shared with other projects; with PREFECT_API_URL set, that server is
    used instead of a temporary one. ``command``: the subcommand; a read-only one gets no Prefect home."""
    if "PREFECT_HOME" not in os.environ and command not in READ_ONLY_COMMANDS:
        home = get_settings().home / ".prefect"
        try:
            home.mkdir(parents=True, exist_ok=True)  # Prefect creates only the last level
        except OSError:
            # a warehouse on a read-only mount (or a mistyped JLAC_WAREHOUSE): the reading commands still work,
            # Prefect keeps its state in its default home; a refresh fails later, naming the folder it cannot write
            return _prefect_defaults()
        os.environ["PREFECT_HOME"] = str(home)
    _prefect_defaults()


def _prefect_defaults() -> None:
    from jlac.http import without_credentials

    api = os.environ.get("PREFECT_API_URL", "").strip()
    if api and not os.environ.get("PREFECT_UI_URL") and without_credentials(api) != api.rstrip("/"):
        # Prefect derives its UI's address from the API's, credentials included, and prints it in every run's
        # "View at ..." line (and jlac's alerts carry it): the server's address without them (found by a QA pass)
        ui = without_credentials(api).rstrip("/")
        os.environ["PREFECT_UI_URL"] = ui[:-len("/api")] if ui.endswith("/api") else ui.replace("/api/", "/")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # jlac records logged by threads outside the flow run's context (file hashing) stay local, without a warning.
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    # The temporary API takes 10-20 s to start on a busy 2-core machine; Prefect's default wait is 20 s.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # When the temporary API stops after a run, its services log the flushes they were cancelled in with a Python
    # traceback (prefect.server.services.task_run_recorder): noise on stderr that looks like jlac failing.
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")


# Typer's rich help shows every option's type, a flag's too: `--verbose -v <bool>` read as if it took a value
# (found by a QA pass)
_option_type = TyperOption.display_type_rich


def _flag_type(option: TyperOption, ctx) -> str | None:
    """The type column of an option in --help: none for a flag, which takes no value."""
    return None if option.is_flag else _option_type(option, ctx)


TyperOption.display_type_rich = _flag_type


class _Commands(TyperGroup):
    """jlac's commands. A Ctrl-C that a command lets through is its one line and status 130: typer ends such a
    command with status 130 and no word (`jlac sql` stopped in a query came out that way)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            _interrupted(stop_status(exc) or 130)


app = typer.Typer(help="jlac: Japan-LAC economic relations warehouse (DuckDB), refreshed by Prefect flows.",
                  no_args_is_help=True, pretty_exceptions_enable=False, cls=_Commands)
# markup=False, emoji=False: paths, messages and values are printed as they are (a "[" in a path is no style tag,
# ":x:" in a value no emoji)
console, err = out.consoles()


# How long the check of PREFECT_API_URL's server may take, in all (check_prefect_api)
API_CHECK_SECONDS = 10


def check_prefect_api() -> None:
    """With PREFECT_API_URL set, that server must answer before anything runs: one line naming it and what to do,
    instead of Prefect's traceback from inside the flow's start ("Failed to reach API")."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        return
    from jlac.http import hide_in_prefect_logs

    # set in prefect.toml, a .env or a profile as well as in the environment: Prefect's "View at" line showed them
    hide_in_prefect_logs(url)
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    from jlac.deadline import TimedOut, within

    # One try of 10 s (Prefect's client retries a timeout with its 60 s timeout: a server that accepted and never
    # answered held the command 7 minutes), then the server's version: an HTTP server that is not Prefect's
    # answered /health with 200 and ended in an 87-line traceback (both found by a QA pass). 10 s in all: httpx's
    # timeout bounds each wait for bytes, and a server sending one now and then held the check without end.
    def ask() -> Exception | None:
        with temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}), \
                get_client(sync_client=True, httpx_settings={"timeout": API_CHECK_SECONDS}) as client:
            problem = client.api_healthcheck()  # Prefect's own check: GET /health, with the client's auth
            if problem is None:
                try:  # Prefect's own check at a flow's start (Prefect Cloud passes it without asking)
                    client.raise_for_api_version_mismatch()
                except Exception as exc:  # noqa: BLE001  not JSON, not a version, another major version
                    problem = exc
            return problem

    try:
        problem = within(API_CHECK_SECONDS, ask, name="jlac-prefect-check")
    except TimedOut as exc:
        problem = exc
    except Exception as exc:  # noqa: BLE001  a URL httpx cannot take (an unencoded '/' in its password): a traceback
        problem = exc
    if problem is not None:
        from jlac.http import credentials_in, redact, without_credentials

        said = redact(str(problem), credentials_in(url))[:200]  # httpx's error quotes the URL it asked
        _fail(JlacError(f"PREFECT_API_URL={without_credentials(url)}: no Prefect API answers there "
                        f"({type(problem).__name__}: {said}). Start that server (`prefect server start`) or unset "
                        "PREFECT_API_URL to run on a temporary local API."))


def require_utf8(value: str | None, what: str) -> None:
    """End the command in one line (exit 1) when a command-line argument holds bytes that are not UTF-8 (Python passes
    them on as surrogate escapes), naming the first one's byte offset. ``what`` names the argument."""
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a traceback in jlac sql, DuckDB's "Python Conversion Failure" in revisions
        offset = len(value[:exc.start].encode("utf-8"))  # each undecodable byte is one surrogate: bytes before it
        _fail(JlacError(f"{what} is not valid UTF-8: byte {offset} is 0x{ord(value[exc.start]) & 0xFF:02x}; give it "
                        "as UTF-8 text"))


def _pins(pin: list[str]) -> dict[str, str]:
    out = {}
    for item in pin:
        source, sep, vintage = (part.strip() for part in item.partition("="))
        if not sep or not source or not vintage:  # 'fred-exjpus=' built the latest vintage without a word
            raise typer.BadParameter(f"--pin takes SOURCE=VINTAGE, got {item!r}")
        if out.get(source, vintage) != vintage:
            raise typer.BadParameter(f"--pin {source} given twice: {out[source]} and {vintage}")
        problem = vintage_problem(vintage)
        if problem:  # no folder can have that name: refused here, not after a run recorded as failed
            raise typer.BadParameter(f"--pin {item}: {vintage!r} {problem}")
        out[source] = vintage
    return out


def _report(exc: Exception) -> None:
    err.print(f"[bold red]jlac: {type(exc).__name__}[/]: {escape(str(exc))}", markup=True, highlight=False,
              soft_wrap=True)


def _interrupted(code: int = 130) -> None:
    """Ctrl-C or SIGTERM: one line and the shell's status for an interrupted command, 130 or 143 (a refresh has
    recorded the run as crashed and left the published warehouse as it was)."""
    from jlac import launch

    # a second Ctrl-C must not cut this line short, nor the way out after it (click made one there "Aborted!", exit 1)
    if launch.owns_the_process():
        stops.ignore()
    with stops.held():
        err.print("[bold red]jlac: interrupted[/]" if code == 130 else "[bold red]jlac: terminated[/]", markup=True,
                  highlight=False)
    raise SystemExit(code) from None


_TERMINATED: list[int] = []  # the SIGTERMs this process received (_terminate_in_one_line)


def _terminate_in_one_line() -> None:
    """SIGTERM raises Prefect's TerminationSignal from here on, as inside a flow run. After handling it, Prefect puts
    back the handler it found and sends the signal again: with Python's default there, `jlac refresh` died without
    a line (status 143, no "jlac: terminated"), before a flow run and during one."""
    from prefect.exceptions import TerminationSignal

    def raise_termination(signum: int, frame) -> None:
        _TERMINATED.append(signum)
        raise TerminationSignal(signal=signum)

    signal.signal(signal.SIGTERM, raise_termination)
    # SIGHUP (the terminal or the SSH session closed) killed the process where it stood: a refresh in its fetch left
    # no ledger line and sent no alert (found by a QA pass); it is a stop as SIGTERM is (status 129)
    if signal.getsignal(signal.SIGHUP) is signal.SIG_DFL:  # not ignored (nohup): left as it is then
        signal.signal(signal.SIGHUP, raise_termination)
    stops.quiet_threads_after_a_stop()


def stop_status(exc: BaseException) -> int | None:
    """The exit status when ``exc`` ended the command because it was stopped (130 Ctrl-C, 143 SIGTERM), else None.

    Once a SIGTERM arrived, whatever the command raises is the stop's doing: Prefect, stopped while it created a task
    run, raised ``ValueError('Task run is not set')`` from its own cleanup instead of the TerminationSignal."""
    if _TERMINATED:
        return 128 + _TERMINATED[0]
    if is_interrupt(exc):
        return 128 + int(getattr(exc, "signal", 2))
    return None


def _fail(exc: Exception) -> None:
    if (code := stop_status(exc)) is not None:  # the failure came from the stop
        _interrupted(code)
    _report(exc)
    raise typer.Exit(exc.exit_code if isinstance(exc, JlacError) else 1)


# `jlac refresh --fetch` exit status when the refresh published (or had nothing to publish) but a fetch failed
FETCH_FAILED = 4


@app.command()
def refresh(
    fetch: bool = typer.Option(False, "--fetch", help="Fetch new releases from the publishers first."),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network (overrides --fetch, saying so)."),
    source: list[str] = typer.Option([], "--source", help="Only these sources: fetched (with --fetch) and rebuilt; "
                                     "the others keep the published vintages."),
    pin: list[str] = typer.Option([], "--pin", help="Build from a given vintage: SOURCE=VINTAGE (repeatable)."),
    full: bool = typer.Option(False, "--full", help="Rebuild everything even when nothing changed."),
    drop: list[str] = typer.Option([], "--drop", help="Build without this source although the published warehouse "
                                   "holds it (no snapshot of it is found any more): its published data is removed."),
) -> None:
    """Build, validate and publish the warehouse and the figures (a Prefect flow run: on the server PREFECT_API_URL
    names, else a temporary local API)."""
    pins = _pins(pin)  # a bad --pin is refused before Prefect's seconds of start
    if fetch and offline:
        # --offline wins, as documented (a wrapper that always passes --fetch, run offline), but said: the refresh
        # fetched nothing without a word, as if the publishers had nothing new; told apart here, not refused, as a
        # --drop of a source whose snapshots are found is built as usual with a warning
        err.print("jlac: " + preflight.fetch_ignored("--fetch", "--offline", "the refresh"), highlight=False,
                  soft_wrap=True)
        fetch = False  # the flow would say it again
    try:
        preflight.check(get_settings(), source or None, pins, fetch=fetch, drop=drop or None)  # a typo
        preflight.check_snapshots(get_settings(), pins, fetch=fetch, named=source or None)
    except JlacError as exc:
        _fail(exc)
    check_prefect_api()
    from jlac import prefect_api

    api = prefect_api.start_in_background()  # seconds of Prefect's start overlap with the pipeline's imports
    try:
        _terminate_in_one_line()
        from jlac.pipeline import refresh as refresh_flow

        if api is not None:
            api.wait()

        quiet_jlac_tracebacks()
        from prefect import tags

        # tagged as the deployments' runs are: filtering the server's runs by 'jlac' missed every CLI run (QA pass)
        with prefect_api.heartbeats_only_for_a_server(), tags("jlac", "cli"):
            record = refresh_flow(fetch=fetch, offline=offline, sources=source or None, pins=pins or None,
                                  trigger="cli", full=full, drop=drop or None)
    except JlacError as exc:
        _fail(exc)
    except (KeyboardInterrupt, RuntimeError) as exc:  # click turns a bare KeyboardInterrupt into "Aborted!", exit 1
        if (code := stop_status(exc)) is None:
            raise
        _interrupted(code)
    except httpx.TransportError as exc:  # Prefect's API went away during the run (its server killed, the network)
        code = stop_status(exc)
        if code is not None:  # stopped with it (systemd stops every process of the service): the stop is what happened
            err.print("[bold red]jlac: terminated[/]", markup=True, highlight=False)
        else:
            from jlac.ops.status import last_run

            run = last_run(get_settings()) or {}
            _report(JlacError(f"Prefect's API stopped answering during the run ({type(exc).__name__}: {exc}); the "
                              f"run itself: {run.get('run_id', '?')} {run.get('status', 'not recorded')} (runs.jsonl)"))
        # Prefect's exit handlers would retry sending the run's events and logs to the dead API for minutes
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 1)
    except BaseException as exc:  # Prefect's TerminationSignal (SIGTERM) is no Exception
        if (code := stop_status(exc)) is None:
            raise
        _interrupted(code)
    settings = get_settings()
    if record.status == "skipped":  # another refresh took the lock after the pre-flight check: as that refusal
        _fail(RefreshBusy(record.error or "another refresh holds the refresh lock"))
    if record.status == "unchanged":
        console.print(f"nothing changed: every input equals the published warehouse's; {settings.warehouse} "
                      f"left as it was (run {record.run_id}, {record.duration_s} s)")
        if record.hooks:  # a consumer that missed the last publish (a serving database down) was brought up to date
            done = ", ".join(f"{h['hook']} {h['status']}" for h in record.hooks)
            console.print(f"after-publish hooks run again for the published run {record.hooks_for}: {done}",
                          soft_wrap=True)
    else:
        mode = (record.plan or {}).get("mode", "full")
        console.print(Text.assemble(("published", "green"), f" {settings.warehouse} ({mode} build, run "
                                    f"{record.run_id}, {record.duration_s} s); figures in {settings.output}"))
    if record.fetch_failed:  # the warehouse is whole, but not as new as asked: a scheduler must see it
        for name, message in sorted(record.fetch_failed.items()):
            err.print(Text.assemble(("jlac: fetch failed", "red"), f" for {name}: {message}; "
                                    f"{ledger.built_instead(name, record.snapshots)}"), soft_wrap=True)
        raise typer.Exit(FETCH_FAILED)


def require_published(settings) -> None:
    """End the command in one line (exit 1) when there is no published warehouse to read, or the file there is not
    a DuckDB database: the same words for every command that reads it (`report` and `revisions` said it otherwise)."""
    from jlac.warehouse import not_duckdb

    if not settings.warehouse.exists():
        _fail(JlacError(f"no published warehouse at {settings.warehouse}; run `jlac refresh` first"))
    if (why := not_duckdb(settings.warehouse)) is not None:
        _fail(JlacError(why))


def require_writable_output(settings, why_needed: str) -> None:
    """End the command in one line when the output folder cannot be written (a read-only mount, a file in its way),
    before anything is drawn into it."""
    from jlac.preflight import check_writable, folder_label

    try:
        check_writable(folder_label("JLAC_OUTPUT"), settings.output, why_needed)
    except JlacError as exc:
        _fail(exc)


@app.command()
def figures(
    recipient: list[str] = typer.Option([], "--recipient", help="Draw Figure 3 for this recipient instead (ISO3 "
                                        "code, e.g. NIC; repeatable): fig3_finance_<iso3>.png/svg/csv from "
                                        "figures.fig3_finance_by_donor."),
) -> None:
    """Render the figures' charts and CSVs again from the published warehouse."""
    from jlac.figures import render_all as render_figures
    from jlac.warehouse import outputs_lock

    settings = get_settings()
    require_published(settings)
    require_writable_output(settings, "the charts and CSVs are written there")
    with outputs_lock(settings, "jlac figures"):  # not beside a refresh's publish of the same outputs
        paths = (_recipient_figures(settings, recipient) if recipient
                 else render_figures(settings.warehouse, settings.output))
    for path in paths:
        console.print(str(path), soft_wrap=True)


def _recipient_figures(settings, recipients: list[str]) -> list:
    """Figure 3 for each recipient named (``jlac figures --recipient``), into the output folder: the issue's "the same
    for any recipient" was a Python function only, which no command or page named."""
    import duckdb

    from jlac.figures import fig3_costa_rica_finance
    from jlac.warehouse import open_for_reading

    settings.output.mkdir(parents=True, exist_ok=True)
    with open_for_reading(settings.warehouse, lambda path: duckdb.connect(str(path), read_only=True)) as con:
        try:
            return [p for r in recipients for p in fig3_costa_rica_finance.render_recipient(con, settings.output, r)]
        except JlacError as exc:
            _fail(exc)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _without_extension_advice(exc: Exception) -> Exception:
    """A query that needs an extension jlac sql does not install or load (connect_for_queries): DuckDB's first line,
    and why, instead of its advice to run INSTALL and SET, which jlac sql refuses."""
    text = str(exc)
    if "\n\nPlease try installing and loading the " not in text:
        return exc
    return JlacError(f"{text.splitlines()[0].rstrip('.')}; jlac sql neither installs nor loads DuckDB extensions")


def _one_line(exc: Exception) -> Exception:
    """DuckDB's error for a query on one line: its message, then what follows it (candidates, the query's line)
    in parentheses, without the caret line under the query (a syntax error was four lines)."""
    lines = [line.strip() for line in str(exc).splitlines()]
    lines = [line for line in lines if line and set(line) != {"^"}]
    if len(lines) > 1:
        exc.args = (f"{lines[0]} ({'; '.join(lines[1:])})",)
    return exc


class _QueryCommand(TyperCommand):
    """A command whose argument is a query, which may start with a SQL comment ("-- note"): an argument with white
    space in it is no option (it was "No such option: -- note", found by a QA pass)."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        queries = [a for a in args if a.startswith("-") and any(c.isspace() for c in a)]
        if queries and "--" not in args:
            args = [a for a in args if a not in queries] + ["--", *queries]
        return super().parse_args(ctx, args)


@app.command(cls=_QueryCommand)
def sql(
    query: str = typer.Argument(..., help="SQL to run against the published warehouse (read-only)."),
    format_: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f",
                                         help="table (for reading), or csv / json: every row, for other tools."),
    max_rows: int = typer.Option(1000, "--max-rows", min=1, help="Rows a table shows at most (csv and json: all)."),
) -> None:
    """Run a read-only SQL query against the published warehouse and print the result."""
    import duckdb

    from jlac.warehouse import connect_for_queries, read_only_statement

    require_utf8(query, "the query")  # found by a QA pass
    shown = min(max_rows, sys.maxsize - 1)  # fetchmany takes no more (a larger --max-rows was a traceback)

    def run(con) -> tuple[list[str], list] | None:
        read_only_statement(con, query)  # one query that only reads (empty text is named there too)
        cur = out.execute(con, query, format_.value)  # DuckDB writes what Python would convert lossily
        columns = [d[0] for d in cur.description or []]
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if format_ is OutputFormat.json and repeated:  # a JSON object keeps one value per name: no silent loss
            raise JlacError(f"the result has more than one column named {', '.join(repeated)}; JSON objects "
                            "need distinct names: name them apart with AS (or use -f csv)")
        if format_ is not OutputFormat.table:  # streamed while the connection is open
            write = out.write_csv if format_ is OutputFormat.csv else out.write_json
            with _writing_stdout(), out.whole_stdout() as stream:
                write(columns, out.batches(cur) if columns else [], stream)
            return None
        return columns, cur.fetchmany(shown + 1) if columns else []

    try:
        with connect_for_queries(get_settings()) as con:
            result = stops.interruptible(con, lambda: run(con))  # a Ctrl-C stops the query at once
    except (JlacError, duckdb.Error) as exc:
        _fail(_one_line(_without_extension_advice(exc)))
    if result is None:
        return
    columns, rows = result
    more = len(rows) > shown
    rows = rows[:shown]
    headers = [out.visible(c) for c in columns]
    cells = [[out.cell(v) for v in row] for row in rows]
    table = out.table(*headers)
    for row in cells:
        table.add_row(*row)
    expanded = not out.fits(console, table)
    with _writing_stdout():
        if expanded:  # wider than the terminal: one field per line, no value broken
            out.show_records(console, headers, cells)
        else:
            out.show(console, table)
        console.print((f"first {len(rows)} row(s) shown, there are more: --max-rows N shows more, --format csv "
                       "writes them all" if more else f"{len(rows)} row(s)")
                      + ("; one field per line, as the table is wider than the terminal" if expanded else ""),
                      style="dim", highlight=False)


@contextlib.contextmanager
def _writing_stdout():
    """A write to standard output that fails (a full disk or a file size limit under `> file`) names it: the
    message was a bare "jlac: OSError: No space left on device" (found by a QA pass)."""
    try:
        yield
    except BrokenPipeError:  # a reader that stopped reading: handled as such by main
        raise
    except OSError as exc:
        if exc.filename is None:
            exc.filename = "standard output (where the result is written)"
        raise


@app.command()
def sources() -> None:
    """List the sources: live connector, checks, release rhythm, and the snapshot each would be built from."""
    from jlac.ops.status import load_rhythms
    from jlac.snapshots import list_vintages, unknown_folders
    from jlac.sources import all_sources, part

    settings = get_settings()
    rhythms = load_rhythms()
    # a source's name is also its raw table (raw.<name with - -> _>); compact, so it fits an 80-column terminal
    table = out.table("source", "live", "checks", "rhythm", "vintage", "of", "from", box=box.SIMPLE_HEAD, padding=0)
    table.columns[5].justify = "right"
    # every configured root is listed below the table, the ones no source is built from too: a mistyped JLAC_MIRROR
    # (or one a level too deep) left every source without a vintage and no word of the path (found by a QA pass)
    # numbered in JLAC_MIRROR's order, the store and a repeated entry left out (mirror2 alone was shown: QA pass)
    mirrors = list(dict.fromkeys(m for m in settings.mirrors if m != settings.snapshots))
    roots = {settings.snapshots: "store",
             **{m: "mirror" if len(mirrors) == 1 else f"mirror{i}" for i, m in enumerate(mirrors, 1)}}
    used = set()
    for name, src in all_sources().items():
        vintages = list_vintages(name, settings)
        latest = vintages[-1] if vintages else None
        rhythm = rhythms.get(name)
        if latest:
            used.add(latest.root.parent.parent)
        table.add_row(name, "yes" if part(src, "connector") else "-",
                      "yes" if (src.folder / "checks.py").is_file() else Text("missing", style="red"),
                      rhythm.rhythm if rhythm else "unknown",
                      latest.vintage if latest else "-", str(len(vintages)),
                      roots.get(latest.root.parent.parent, "?") if latest else "-")
    out.show(console, table)
    console.print("live: has a connector (jlac fetch <source>); vintage: the latest, of that many; raw table: "
                  "raw.<source with - -> _>")
    for root, label in roots.items():
        note = ""
        if root not in used and label != "store":
            note = (" (no such folder: check JLAC_MIRROR)" if not root.is_dir() else
                    " (no source's snapshot in it: a mirror holds <source>/<vintage>/SNAPSHOT.yml; check JLAC_MIRROR)")
        elif not (root.is_dir() and any(root.iterdir())):
            note = " (empty: `jlac fetch` writes there)"
        console.print(Text(f"{label}: {root}{note}", style="red" if note and label != "store" else ""),
                      soft_wrap=True)
    for line in unknown_folders(settings, list(all_sources())):
        console.print(Text(line, style="red"), soft_wrap=True)


# Open files a command starting Prefect needs at least: a whole refresh ran at 40 (`ulimit -n 40`); at 16 Prefect's
# temporary API, which inherits the limit, logged "socket.accept() out of system resource" 204,760 times (842 MB of
# stderr) and the refresh failed after 10 minutes blaming a cache file (found by a QA pass).
MIN_OPEN_FILES = 32


def _open_files(command: str | None) -> None:
    """Raise the soft open-file limit towards 1024 where the hard limit allows (a program may, and a refresh's
    Prefect API, dbt and DuckDB hold many files), then refuse a command that starts Prefect below MIN_OPEN_FILES."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 1024:
        want = 1024 if hard == resource.RLIM_INFINITY else min(hard, 1024)
        if want > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
                soft = want
            except (ValueError, OSError):
                pass
    asks_help = "--help" in sys.argv[1:]  # help is printed whatever the limit
    if command not in READ_ONLY_COMMANDS and not asks_help and soft != resource.RLIM_INFINITY and \
            soft < MIN_OPEN_FILES:
        raise JlacError(f"the open-file limit is {soft} (`ulimit -n`; its hard limit {hard}), and `jlac {command}` "
                        f"needs at least {MIN_OPEN_FILES} (Prefect's API, dbt and DuckDB each hold files): raise it, "
                        "e.g. `ulimit -n 1024`, or LimitNOFILE= in its systemd service")


@app.callback()
def global_options(ctx: typer.Context,
                   verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    _open_files(ctx.invoked_subcommand)
    _prefect_env(ctx.invoked_subcommand)
    if ctx.invoked_subcommand not in DATA_ON_STDOUT and hasattr(sys.stdout, "reconfigure"):
        # a refresh's last line naming a path with ü under PYTHONIOENCODING=ascii made a published run exit 1 (QA
        # pass): what these commands print is for people, written escaped where the encoding lacks a character
        try:
            sys.stdout.reconfigure(errors="backslashreplace")
        except (ValueError, OSError):
            pass
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    console_log.install()
    for noisy in ("great_expectations", "matplotlib", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# Each `jlac/cli_<area>.py` adds its own commands (fetch, revisions, serve, ...).
for _info in sorted(pkgutil.iter_modules(jlac.__path__), key=lambda i: i.name):
    if _info.name.startswith("cli_"):
        importlib.import_module(f"jlac.{_info.name}").register(app)


def main() -> None:
    """The ``jlac`` command. A JlacError raised before or outside a command's own handling (a setting jlac cannot use,
    read while the command starts), or a DuckDB error reading the warehouse (a file that is not a DuckDB database,
    one written by a newer DuckDB), ends in one line naming it and exit status 1, not a traceback. So does a file or
    folder the command cannot use (an output folder under /proc, a file where a folder should be, a read-only
    mount): the operating system's reason and the path."""
    import duckdb
    import yaml

    try:
        app()
    except (KeyboardInterrupt, RuntimeError, duckdb.InterruptException) as exc:
        # Ctrl-C: a refresh has recorded the run as crashed and left the warehouse as it was; DuckDB's Python client
        # turns it into RuntimeError('Query interrupted') when it arrives during a query
        if not is_interrupt(exc):
            raise
        _interrupted(stop_status(exc) or 130)
    except UnicodeEncodeError as exc:
        if exc.reason == "surrogates not allowed":  # no encoding writes these: bytes of a name that is not UTF-8
            err.print(f"[bold red]jlac: UnicodeEncodeError[/]: a text holds {exc.object[exc.start:exc.end]!a}, bytes "
                      "that are not UTF-8 (a file or folder name in another encoding?): rename it",
                      markup=True, highlight=False, soft_wrap=True)
            raise SystemExit(1) from None
        # PYTHONIOENCODING=ascii or a non-UTF-8 locale: a name with ô or a path with ñ ended in a traceback (QA pass);
        # stdout may be data, so nothing is written in its place
        encoding = getattr(sys.stdout, "encoding", None) or exc.encoding
        err.print(f"[bold red]jlac: UnicodeEncodeError[/]: the output holds {exc.object[exc.start:exc.end]!a}, which "
                  f"this output's encoding ({encoding}) cannot write; use a UTF-8 locale (e.g. LANG=C.UTF-8) or "
                  "PYTHONIOENCODING=utf-8", markup=True, highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except (duckdb.BinderException, duckdb.CatalogException) as exc:
        # jlac's own query on the published warehouse (`jlac sql` reports a user's query itself): the file lacks a
        # table or column this jlac reads, e.g. one built by an older jlac; DuckDB's caret lines say no more
        err.print(f"[bold red]jlac: {type(exc).__name__}[/]: {escape(str(exc).splitlines()[0])} (the published "
                  "warehouse lacks a table or column this version of jlac reads: built by another version? "
                  "`jlac refresh --full` rebuilds it)", markup=True, highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except (JlacError, duckdb.Error, yaml.YAMLError) as exc:
        _report(exc)
        raise SystemExit(exc.exit_code if isinstance(exc, JlacError) else 1) from None
    except OSError as exc:  # not BrokenPipeError: a reader that stopped reading is no failure to report
        if isinstance(exc, BrokenPipeError):
            raise
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f)
        why = f"; {why_denied(exc.filename)}" if isinstance(exc, PermissionError) and exc.filename else ""
        err.print(f"[bold red]jlac: {type(exc).__name__}[/]: "
                  f"{escape(str(exc.strerror or exc))}{escape(': ' + where) if where else ''}{escape(why)}",
                  markup=True, highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except BaseException as exc:
        # Prefect's TerminationSignal (SIGTERM, once a refresh set its handler) outside the command's own handling:
        # after the flow run returned, while its outcome is printed. It printed a traceback, exit 1.
        if not is_interrupt(exc):
            raise
        _interrupted(stop_status(exc) or 143)


if __name__ == "__main__":
    from jlac.launch import run_to_exit

    run_to_exit(main)
