"""The refresh flow on the cron of deploy/schedule.yml, served by Prefect in this process."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jlac.config import PROJECT_ROOT

SCHEDULE_FILE = PROJECT_ROOT / "deploy" / "schedule.yml"


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str
    timezone: str = "UTC"
    parameters: dict[str, Any] = field(default_factory=dict)


def load_schedule(path: Path = SCHEDULE_FILE) -> Schedule:
    """Read deploy/schedule.yml; name the file and the missing key when it is incomplete."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = [k for k in ("name", "cron") if not spec.get(k)]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)} "
                         "(expected e.g. name: jlac-refresh, cron: '30 5 * * 1')")
    from prefect.schedules import Cron

    Cron(spec["cron"], timezone=spec.get("timezone", "UTC"))  # validates the expression and the timezone now
    return Schedule(spec["name"], spec["cron"], spec.get("timezone", "UTC"),
                    dict(spec.get("parameters") or {}))


def serve(schedule: Schedule) -> None:
    """Serve the refresh on its cron in this process (Prefect's ``flow.serve``); blocks until interrupted."""
    from prefect.schedules import Cron

    from jlac.pipeline import refresh  # its on_failure/on_crashed hooks send jlac.ops.alerts

    refresh.serve(
        name=schedule.name,
        schedules=[Cron(schedule.cron, timezone=schedule.timezone)],
        parameters=schedule.parameters,
        description="Weekly jlac refresh with fetch (from deploy/schedule.yml)",
        tags=["jlac"],
    )
