"""`jlac health`: one verdict for a monitor (jlac.ops.health), with a monitoring plugin's exit status."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from jlac import printing as out
from jlac.config import get_settings

console, err = out.consoles()


def register(app: typer.Typer) -> None:
    """Add `jlac health` to the jlac CLI."""
    app.command("health")(health)


def health(as_json: Annotated[bool, typer.Option("--json", help="One JSON object: verdict, problems, state")] = False
           ) -> None:
    """A monitoring check of the whole installation: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
    from jlac.ops.health import LEVELS, UNKNOWN, check

    try:
        result = check(get_settings())
    except Exception as exc:  # noqa: BLE001 - the check itself failed: UNKNOWN, as monitoring plugins say it
        message = " ".join(str(exc).split()) or type(exc).__name__
        if as_json:
            print(json.dumps({"status": "unknown", "exit_code": UNKNOWN, "problems": [], "error": message}))
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
