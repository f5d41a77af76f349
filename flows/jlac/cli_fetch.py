"""Live-connector commands: ``jlac fetch [SOURCE...]`` and ``jlac revisions``."""

from __future__ import annotations

from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from jlac.config import get_settings

console = Console()


def register(app: typer.Typer) -> None:
    """Add the fetch and revisions commands to the jlac CLI."""
    app.command("fetch")(fetch)
    app.command("revisions")(revisions)


def fetch(
    sources: Annotated[list[str], typer.Argument(help="Sources to fetch (default: all live sources)")] = None,
    offline: Annotated[bool, typer.Option(help="Touch no network; report what would be fetched")] = False,
) -> None:
    """Fetch new releases from the publishers into the snapshot store (a vintage only when data changed)."""
    from jlac.connectors import CONNECTORS, fetch_all

    unknown = [s for s in sources or [] if s not in CONNECTORS]
    if unknown:
        console.print(
            f"[red]unknown source(s) {', '.join(unknown)}[/]; live sources: {', '.join(CONNECTORS)}"
        )
        raise typer.Exit(2)
    results = fetch_all(sources or None, get_settings(), offline=offline, progress=lambda m: console.print(m))
    table = Table("source", "status", "vintage", "requests", "bytes", "message")
    colour = {"new": "green", "unchanged": "cyan", "failed": "red", "skipped": "yellow"}
    for r in results:
        table.add_row(
            r.source,
            f"[{colour.get(r.status, 'white')}]{r.status}[/]",
            r.vintage or "-",
            str(r.requests),
            f"{r.bytes:,}",
            r.message,
        )
    console.print(table)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def revisions(
    limit: Annotated[int, typer.Option(help="How many revisions to show, newest first")] = 20,
    reporter: Annotated[str, typer.Option(help="Only this reporter (ISO3)")] = None,
) -> None:
    """Print the latest revisions of published trade values (marts.trade_revisions)."""
    settings = get_settings()
    if not settings.warehouse.exists():
        console.print(f"[red]no warehouse at {settings.warehouse}[/]; run `jlac refresh` first")
        raise typer.Exit(1)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'marts' AND table_name = 'trade_revisions'"
        ).fetchone()[0]
        if not exists:
            console.print(
                "[red]the warehouse has no marts.trade_revisions[/]; refresh with the live sources first"
            )
            raise typer.Exit(1)
        where = "WHERE reporter_iso3 = ?" if reporter else ""
        rows = con.execute(
            f"""SELECT source, reporter_iso3, coalesce(partner_iso3, partner_aggregate), flow, year,
                       old_vintage, old_value, new_vintage, new_value, change_pct
                FROM marts.trade_revisions {where}
                ORDER BY new_vintage DESC, abs(change_pct) DESC NULLS LAST LIMIT ?""",
            [reporter.upper(), limit] if reporter else [limit],
        ).fetchall()
    if not rows:
        console.print("no revisions: no fetched vintage changed a value published before")
        return
    table = Table(
        "source",
        "reporter",
        "partner",
        "flow",
        "year",
        "old vintage",
        "old US$",
        "new vintage",
        "new US$",
        "change %",
    )
    for src, rep, partner, flow, year, ov, old, nv, new, pct in rows:
        table.add_row(
            src,
            rep,
            partner,
            flow,
            str(year),
            ov,
            f"{old:,.0f}",
            nv,
            f"{new:,.0f}",
            "-" if pct is None else f"{pct:+.3f}",
        )
    console.print(table)
