"""After publishing: alert when the refresh set rows aside in ``quarantine.rows`` (jlac.quarantine).

The warehouse was published without them, on purpose: no figure reads them. Someone still has to add the unknown
names to ``flows/jlac/data/country_names.csv`` so that the next refresh loads them; the alert says which.
Nothing set aside: no alert.
"""

from __future__ import annotations

from jlac.publish_hooks import PublishContext, PublishHook


def message(record) -> str | None:
    """The alert's text for a run, or None when it set nothing aside."""
    if not record.quarantine:
        return None
    parts = [f"{source} {q['snapshot_id']}: {q['rows']:,} of {q['raw_rows']:,} rows ({100 * q['share']:.2f} %): "
             f"{q['values']}" for source, q in sorted(record.quarantine.items())]
    return (f"jlac refresh {record.run_id} published, with rows set aside in quarantine.rows (unknown country "
            "names no published figure reads; add them to flows/jlac/data/country_names.csv): " + "; ".join(parts))


def after(ctx: PublishContext) -> dict | None:
    """Alert the rows this run set aside in quarantine; return the rows per source, None when it set none aside."""
    from jlac.ops import alerts

    text = message(ctx.record)
    if text is None:
        return None
    sent = alerts.send({"text": text, "state": "quarantined", "run_id": ctx.record.run_id,
                        "quarantine": ctx.record.quarantine}, warehouse=ctx.settings.warehouse)
    return {"alerted": sent, "rows": {s: q["rows"] for s, q in ctx.record.quarantine.items()}}


HOOK = PublishHook("quarantine", after=after, order=95)
