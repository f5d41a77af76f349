"""After each publish: bring the PostgreSQL serving copy to the new warehouse (``jlac.serving.load.catch_up``).

Where: ``JLAC_POSTGRES_URL`` (a team's server) when set, else the local cluster of ``jlac serve-sql`` under the
warehouse folder when it is running. With neither, there is no serving copy to update and the hook says so.
When the local cluster exists but is stopped, ``jlac serve-sql`` catches up when it starts. A failure (server
down, a value PostgreSQL cannot take) leaves the copy whole at its previous version; the publish hook point
records it in the run and alerts, and the next refresh (or serve-sql's retry) catches up, also a refresh that
finds nothing new to publish (``jlac.publish_hooks.catch_up``). With a team's server, every refresh checks the copy
(``recheck``): one emptied or restored there is loaded again.
"""

from __future__ import annotations

from jlac.publish_hooks import PublishContext, PublishHook
from jlac.serving.cluster import ClusterError, LocalCluster
from jlac.serving.load import catch_up
from jlac.serving.target import team_target


def after(ctx: PublishContext) -> dict:
    """Load the published warehouse into the serving copy, unless it already holds it."""
    target = team_target()
    if target is None:
        cluster = LocalCluster(ctx.settings.home)
        port = cluster.running_port()
        if port is None:
            try:
                made = cluster.initialized
            except ClusterError:  # another user's (a shared home): its serve-sql follows publishes itself (30 s)
                return {"status": "skipped", "reason": f"the local cluster {cluster.root} is another user's; its "
                        "`jlac serve-sql` loads each published warehouse itself"}
            reason = ("local cluster not running; `jlac serve-sql` loads this warehouse when it starts"
                      if made else "no serving copy configured (JLAC_POSTGRES_URL or jlac serve-sql)")
            return {"status": "skipped", "reason": reason}
        target = cluster.target(port)
    return catch_up(ctx.published, target).details()


def _team_server() -> bool:
    """A team's server (JLAC_POSTGRES_URL) is checked by every refresh, also one with nothing new to publish: a copy
    emptied or restored there was never loaded again while the ledger said it was done (found by a QA pass). It
    costs one query when the copy holds the published run. serve-sql checks its own cluster every 30 s."""
    return team_target() is not None


HOOK = PublishHook("postgres", after=after, order=50, recheck=_team_server)
