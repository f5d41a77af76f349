"""Running jlac for real: schedules, deployments, backfills, alerts, freshness, BI exports, SQL access."""
