"""Live-connector commands: ``jlac fetch [SOURCE...]`` and ``jlac revisions``."""

from __future__ import annotations

from typing import Annotated

import duckdb
import typer
from rich.text import Text

from jlac import printing as out
from jlac.config import get_settings
from jlac.errors import JlacError
from jlac.sources import all_sources
from jlac.warehouse import open_for_reading

console, err = out.consoles()  # values printed as they are, lines whole when piped (jlac.printing)


def register(app: typer.Typer) -> None:
    """Add the fetch and revisions commands to the jlac CLI."""
    app.command("fetch")(fetch)
    app.command("revisions")(revisions)


def fetch(
    sources: Annotated[list[str], typer.Argument(
        help="Source names to fetch, as `jlac sources` lists them (default: every live source)")] = None,
    offline: Annotated[bool, typer.Option(help="Touch no network and fetch nothing: list the live sources "
                                               "(named, or all), each as skipped; keys are not checked")] = False,
) -> None:
    """Fetch new releases from the publishers into the snapshot store (a vintage only when data changed)."""
    from jlac.cli import _fail, _interrupted, _terminate_in_one_line, stop_status
    from jlac.connectors import connectors, fetch_all, resolve
    from jlac.plan import check_known

    live = connectors()
    names, unknown, mirror_only = [], [], []
    for name in sources or []:
        try:
            names.append(resolve(name))  # an old connector name maps to its source, with a logged warning
        except KeyError:
            (mirror_only if name in all_sources() else unknown).append(name)
    # one line and exit 1, as `jlac refresh --source` says it (it was exit 2, worded otherwise, and a registered
    # source without a connector was "unknown"; found by a QA pass)
    try:
        check_known(unknown)
    except JlacError as exc:
        _fail(JlacError(f"{exc}; live sources (with a connector): {', '.join(live)}"))
    if mirror_only:
        _fail(JlacError(f"{', '.join(mirror_only)}: no live connector (read from snapshots only: JLAC_MIRROR or "
                        f"JLAC_SNAPSHOTS); live sources: {', '.join(live)}"))
    settings = get_settings()
    # as `jlac refresh`: a stop is one line and the shell's status (130, 143), and the source it stopped is recorded
    # in the fetch ledger (jlac.connectors.fetch_one); SIGTERM killed the process without a word before
    _terminate_in_one_line()
    try:
        results = fetch_all(names or None, settings, offline=offline, progress=lambda m: console.print(m))
    except BaseException as exc:  # KeyboardInterrupt and Prefect's TerminationSignal are no Exception
        if (code := stop_status(exc)) is None:
            raise
        _interrupted(code)
    table = out.table("source", "status", "vintage", "requests", "bytes", "message")
    colour = {"new": "green", "unchanged": "cyan", "failed": "red", "skipped": "yellow"}
    for r in results:
        table.add_row(
            r.source,
            Text(r.status, style=colour.get(r.status, "white")),
            r.vintage or "-",
            str(r.requests),
            f"{r.bytes:,}",
            r.message,
        )
    out.show(console, table)
    # a source the user named that cannot be fetched (a key it lacks) is no success: it was exit 0 (QA pass). Without
    # names, sources not configured are skipped and the fetch of the others is exit 0 (docs/sources-live.md)
    unfetched = [r for r in results if r.status == "skipped"] if sources and not offline else []
    for r in unfetched:
        err.print(f"jlac: {r.source} was not fetched: {r.message}", highlight=False, soft_wrap=True)
    if unfetched or any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def revisions(
    limit: Annotated[int, typer.Option(min=1, max=10**9, help="How many revisions to show: newest vintage first, "
                                                              "then the largest changes")] = 20,
    reporter: Annotated[str, typer.Option(help="Only this reporter (ISO3)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="The whole history, not only the latest publish")] = False,
) -> None:
    """Print the published trade values the latest publish changed (marts.trade_revisions); --all for history."""
    from jlac import revisions as rev
    from jlac.cli import require_published, require_utf8

    require_utf8(reporter, "--reporter")  # DuckDB's "Python Conversion Failure" (found by a QA pass)
    settings = get_settings()
    require_published(settings)
    with open_for_reading(settings.warehouse, lambda path: duckdb.connect(str(path), read_only=True)) as con:
        try:
            found = rev.read(con, everything=all_, reporter=reporter, limit=limit)
        except LookupError:
            console.print("[red]the warehouse has no marts.trade_revisions[/]; run `jlac refresh`", markup=True)
            raise typer.Exit(1) from None
    if not found.rows:
        scope = "in any publish" if found.scope == "all" else f"in the {found.scope}"
        # trade values only: aid or exchange-rate values a publish changed are not recorded (it said "no published
        # value changed" after both had: a QA pass)
        console.print(f"no revisions {scope}: no published trade value"
                      + (f" of reporter {reporter}" if reporter else "") + " changed (trade values only: "
                      "marts.fct_trade_annual and marts.fct_trade_annual_by_aggregate)"
                      + ("; `jlac revisions --all` shows the history" if not all_ else ""))
        return
    from jlac.tables import fitted, left_out

    headers = ["source", "reporter", "partner", "flow", "year", "old source", "old vintage", "old value",
               "new source", "new vintage", "new value", "unit", "change %"]
    cells = [[r["source"], r["reporter_iso3"], r["partner"], r["flow"], str(r["year"]), r["old_source"],
              r["old_vintage"], f"{r['old_value']:,.0f}", r["new_source"] or "-", r["new_vintage"] or "-",
              "withdrawn" if r["new_value"] is None else f"{r['new_value']:,.0f}",
              r["unit"], "-" if r["change_pct"] is None else f"{r['change_pct']:+.3f}"] for r in found.rows]
    if all_:  # two publishes of the same old and new vintage read the same without it (found by a QA pass)
        headers.append("publish run")
        cells = [[*c, r["published_run"] or r["recorded_by"]] for c, r in zip(cells, found.rows, strict=True)]
    title = f"Revisions of published trade values: {found.scope}"
    same = _same_in_every_row(headers, cells, ("source", "old source", "new source", "unit",
                                                      "old vintage", "new vintage", "publish run"))
    # numbers, vintages and run ids never wrap: a narrow terminal first has a column whose value is the same in
    # every row said once in the title, then loses the less telling columns (said below the table)
    table, dropped = fitted(console, headers, cells, title=title, drop=(*same, "old source", "new source", "unit",
                                                                       "old vintage", "publish run", "source",
                                                                       "new vintage"))
    said: dict[str, list[str]] = {}  # value -> the columns of that value left out
    for h in same:
        if h in dropped:
            said.setdefault(str(cells[0][headers.index(h)]), []).append(h)
    if said:
        # of the rows shown: with --limit below the total, other rows may differ (found by a QA pass)
        scope = "every row" if len(found.rows) == found.total else "every row shown"
        table.title = f"{title}; {scope}: " + "; ".join(f"{', '.join(hs)} {value}" for value, hs in said.items())
    dropped = [h for h in dropped if h not in same]
    out.show(console, table)
    if dropped:
        console.print(left_out(dropped, console.width, "a wider terminal"), highlight=False)
    if found.total is not None and found.total > len(found.rows):  # 20 of 600 were shown without a word (QA pass)
        err.print(f"{len(found.rows)} of {found.total:,} revisions shown (newest vintage first, then the largest "
                  f"changes); --limit {found.total} shows them all", soft_wrap=True)


def _same_in_every_row(headers: list[str], cells: list[list], candidates: tuple[str, ...]) -> list[str]:
    """The ``candidates`` columns whose value is the same in every row (with more than one row)."""
    return [h for h in candidates if h in headers and len(cells) > 1
            and len({str(c[headers.index(h)]) for c in cells}) == 1]
