"""The refresh flow on the cron of deploy/schedule.yml, served by Prefect in this process."""

from __future__ import annotations

import inspect
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import yaml

from jlac.config import PROJECT_ROOT
from jlac.errors import JlacError

SCHEDULE_FILE = PROJECT_ROOT / "deploy" / "schedule.yml"


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str
    timezone: str = "UTC"
    parameters: dict[str, Any] = field(default_factory=dict)


def load_schedule(path: Path = SCHEDULE_FILE) -> Schedule:
    """Read deploy/schedule.yml; a ValueError of one line names the file and the field that is missing or wrong (a
    file that is no UTF-8 text, a YAML list, ``parameters: [1, 2]`` or an unknown time zone were tracebacks, the time
    zone only once served)."""
    if path == SCHEDULE_FILE and not path.is_file() and not (PROJECT_ROOT / "pyproject.toml").is_file():
        # jlac installed from a wheel: deploy/ belongs to a checkout (found by a QA pass: a FileNotFoundError
        # naming a path inside the virtualenv)
        raise ValueError("no schedule file: deploy/schedule.yml is part of jlac's repository, not of an installed "
                         "jlac; give one with `jlac serve --schedule FILE` (name, cron, timezone, parameters: "
                         "docs/operations.md, 1. Schedules)")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:  # missing, a folder, unreadable: the file and the reason, in one line
        raise ValueError(f"{path}: cannot read the schedule file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:  # a binary file was a bare UnicodeDecodeError without the file (QA pass)
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not YAML ({' '.join(str(exc).split())})") from None
    spec = {} if spec is None else spec
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: expected a mapping of name, cron, timezone and parameters, found a "
                         f"{type(spec).__name__}: {str(spec)[:60]}")
    missing = [k for k in ("name", "cron") if not spec.get(k)]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)} "
                         "(expected e.g. name: jlac-refresh, cron: '30 5 * * 1')")
    name, cron, timezone = spec["name"], spec["cron"], spec.get("timezone", "UTC")
    parameters = spec.get("parameters") or {}
    for key, value in (("name", name), ("cron", cron), ("timezone", timezone)):
        if not isinstance(value, str):
            raise ValueError(f"{path}: {key} is {value!r}, expected text (e.g. name: jlac-refresh, "
                             "cron: '30 5 * * 1', timezone: Asia/Tokyo)")
    if timezone not in available_timezones():  # Prefect's own check, but only once the flow is served
        raise ValueError(f"{path}: timezone {timezone!r} is no IANA time zone (e.g. UTC, Asia/Tokyo, "
                         "America/Mexico_City)")
    from prefect.schedules import Cron

    try:
        Cron(cron, timezone=timezone)
    except ValueError as exc:
        raise ValueError(f"{path}: cron {cron!r} is no cron expression ({str(exc).splitlines()[0]}; expected five "
                         "fields: minute hour day-of-month month day-of-week, e.g. '30 5 * * 1')") from None
    if not isinstance(parameters, dict):
        raise ValueError(f"{path}: parameters is {parameters!r}, expected a mapping of the refresh flow's "
                         "parameters (e.g. parameters: {fetch: true})")
    _check_parameters(path, parameters)
    return Schedule(name, cron, timezone, dict(parameters))


SET_BY_JLAC = frozenset({"settings", "trigger"})  # the refresh flow's parameters jlac fills in itself


def _check_parameters(path: Path, parameters: dict[str, Any]) -> None:
    """The names and values the refresh flow takes, checked as Prefect checks them at each scheduled run: there, a
    wrong one failed every run of the schedule, not its start."""
    from prefect.exceptions import ParameterTypeError

    from jlac.pipeline import refresh

    # every problem at once, and only what a schedule may set: `fetsh: true` beside `fetch: maybe` named the first
    # alone, and the list offered settings and trigger, which jlac sets itself (found by a QA pass)
    known = [k for k in inspect.signature(refresh.fn).parameters if k not in SET_BY_JLAC]
    problems = []
    if unknown := [str(k) for k in parameters if k not in known]:
        problems.append(f"{', '.join(unknown)}: not a parameter a schedule sets (the refresh flow takes "
                        f"{', '.join(known)})")
    flows_log = logging.getLogger("prefect.flows")  # it logs the failure with every detail, before ours
    disabled, flows_log.disabled = flows_log.disabled, True
    try:
        refresh.validate_parameters({k: v for k, v in parameters.items() if k in known})
    except ParameterTypeError as exc:
        problems.append("; ".join(line.strip(" -") for line in str(exc).splitlines()[1:]) or str(exc))
    finally:
        flows_log.disabled = disabled
    if problems:
        raise ValueError(f"{path}: parameters: {'; '.join(problems)}")


def serve(schedule: Schedule, warehouse: Path) -> None:
    """Serve the refresh of ``warehouse`` on its cron in this process (Prefect's ``flow.serve``); blocks until
    interrupted. Call ``check_not_another_homes`` first."""
    from prefect.schedules import Cron

    from jlac.pipeline import refresh  # its on_failure/on_crashed hooks send jlac.ops.alerts

    refresh.serve(
        name=schedule.name,
        schedules=[Cron(schedule.cron, timezone=schedule.timezone)],
        parameters=schedule.parameters,
        description=description(schedule, warehouse),
        tags=["jlac"],
        # one refresh at a time, as deploy/prefect.yaml's concurrency_limit: a run due while another works waits
        # for it (it failed on the refresh lock and alerted 'failed': found by a QA pass)
        global_limit=1,
    )


WAREHOUSE_MARK = "; warehouse: "
# a served deployment's runner polls the server every 10 s (Prefect's runner default): polled within this many seconds
# and not paused (a clean stop pauses it), another `jlac serve` is serving it
SERVED_LIVE_S = 30


def description(schedule: Schedule, warehouse: Path) -> str:
    """The served deployment's description: its own cron and parameters (it said 'Weekly ... with fetch' whatever
    the schedule file gave), and the warehouse it refreshes (``served_warehouse`` reads it back)."""
    params = ", ".join(f"{k}={v!r}" for k, v in sorted(schedule.parameters.items())) or "none"
    return (f"jlac refresh on cron '{schedule.cron}' ({schedule.timezone}); parameters: {params}"
            f"{WAREHOUSE_MARK}{os.path.abspath(warehouse)}")


def served_warehouse(text: str | None) -> str | None:
    """The warehouse a served deployment's description names (None for one served by jlac before 7 December)."""
    if not text or WAREHOUSE_MARK not in text:
        return None
    return text.rsplit(WAREHOUSE_MARK, 1)[1].strip() or None


def check_not_another_homes(schedule: Schedule, warehouse: Path) -> None:
    """Refuse to serve a deployment the Prefect server has for another warehouse, or one another process serves now
    (its runner polled within ``SERVED_LIVE_S``, not paused). Two homes' `jlac serve` of one name shared one
    deployment: each run went to whichever process polled first, and stopping one paused the other's schedule; a
    second serve of the same home paused the first's the same way (found by QA passes)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            existing = client.read_deployment_by_name(f"jlac-refresh/{schedule.name}")
        except ObjectNotFound:
            return
    other = served_warehouse(existing.description)
    mine = os.path.abspath(warehouse)
    polled = existing.last_polled
    age = (datetime.now(UTC) - polled).total_seconds() if polled is not None else None
    if (other is None or other == mine) and not existing.paused and age is not None and age < SERVED_LIVE_S:
        # a second `jlac serve` of the same home served beside the first, and stopping it paused the first one's
        # schedule, its refreshes silently off (found by a QA pass)
        raise JlacError(f"the deployment jlac-refresh/{schedule.name} is being served already (its runner polled "
                        f"{age:.0f} s ago): one `jlac serve` per deployment is enough, and stopping a second one "
                        f"would pause the first one's schedule. If that process is gone, start again in "
                        f"{SERVED_LIVE_S} s")
    if other is not None and other != mine:
        raise JlacError(f"the Prefect server's deployment jlac-refresh/{schedule.name} is served for the warehouse "
                        f"{other}, not {mine}: two homes on one server need a deployment each. Give this home's "
                        f"schedule another name (`jlac serve --schedule FILE`, with e.g. `name: {schedule.name}-2` in "
                        f"FILE), or remove the other's if it is gone (`prefect deployment delete "
                        f"jlac-refresh/{schedule.name}`)")
