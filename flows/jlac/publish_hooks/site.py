"""After publishing: write the report site (JLAC_OUTPUT/site) from the newly published warehouse.

A failure leaves the published warehouse as it is (and the previous site in place); it is recorded in the run's
``hooks`` and alerted, and ``jlac report`` writes the site again.
"""

from __future__ import annotations

from jlac.publish_hooks import PublishContext, PublishHook


def after(ctx: PublishContext) -> dict:
    """Write the report site for the published warehouse, with the charts this refresh rendered; return its index."""
    from jlac.site import write_site

    # the charts this refresh rendered from the same warehouse were just moved into JLAC_OUTPUT
    index = write_site(ctx.settings, ctx.published, charts=ctx.settings.output,
                       dropped=tuple(getattr(ctx.record, "dropped", None) or ()))
    return {"site": str(index)}


HOOK = PublishHook("site", after=after, order=90)
