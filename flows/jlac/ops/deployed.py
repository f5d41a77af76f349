"""Entrypoint of the Prefect deployment in deploy/prefect.yaml: the refresh with failure alerts attached."""

from jlac.ops.schedule import alerting_refresh

refresh = alerting_refresh()
