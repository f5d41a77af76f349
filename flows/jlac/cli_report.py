"""``jlac report``: write the static report site from the published warehouse."""

from __future__ import annotations

import typer

from jlac import printing as out
from jlac.config import get_settings

console, err = out.consoles()  # values printed as they are, lines whole when piped (jlac.printing)


def register(app: typer.Typer) -> None:
    """Add the report command to the jlac CLI."""
    app.command("report")(report)


def report() -> None:
    """Write JLAC_OUTPUT/site/index.html and its assets (offline: no CDN, no web fonts) from the published warehouse."""
    from jlac.cli import require_published, require_writable_output
    from jlac.site import write_site

    settings = get_settings()
    require_published(settings)
    require_writable_output(settings, "the site is written there (site/)")
    from jlac.warehouse import outputs_lock

    with outputs_lock(settings, "jlac report"):  # not beside a refresh's publish of the same site
        index = write_site(settings)
    console.print(f"report site: {index}", soft_wrap=True)
