"""`jlac health`: one verdict for a monitor (jlac.ops.health), with a monitoring plugin's exit status."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from typer.core import TyperCommand

from jlac import printing as out
from jlac.config import get_settings

console, err = out.consoles()


class _PluginCommand(TyperCommand):
    """A usage error (`jlac health --jsn`) exits 3, UNKNOWN, as a monitoring plugin's does: click's 2 read as
    CRITICAL, a typo in a check's command line paged (found by a QA pass)."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:  # typer's own click: its UsageError, exit_code 2
            if getattr(exc, "exit_code", None) == 2:
                exc.exit_code = 3
            raise


def register(app: typer.Typer) -> None:
    """Add `jlac health` to the jlac CLI."""
    app.command("health", cls=_PluginCommand)(health)


def health(as_json: Annotated[bool, typer.Option("--json", help="One JSON object: verdict, problems, state")] = False
           ) -> None:
    """A monitoring check of the whole installation: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
    from jlac.ops.health import LEVELS, UNKNOWN, check, unknown

    try:
        result = check(get_settings())
    except Exception as exc:  # noqa: BLE001 - the check itself failed: UNKNOWN, as monitoring plugins say it
        message = " ".join(str(exc).split()) or type(exc).__name__
        if as_json:
            print(json.dumps(unknown(f"{type(exc).__name__}: {message}"), indent=1))
        else:
            print(f"JLAC {LEVELS[UNKNOWN]}: the check could not run: {type(exc).__name__}: {message}")
        raise typer.Exit(UNKNOWN) from None
    if as_json:
        print(json.dumps(result.as_json(), default=str, indent=1))
    else:
        console.print(result.summary(), highlight=False, soft_wrap=True)
        for problem in sorted(result.problems, key=lambda p: -p.severity):
            console.print(f"{LEVELS[problem.severity]} {problem.code}: {problem.message}", highlight=False,
                          soft_wrap=True)
        for run_id in result.running:
            console.print(f"running: refresh {run_id}", highlight=False, soft_wrap=True)
    raise typer.Exit(result.exit_code)
