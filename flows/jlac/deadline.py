"""A total time for a call that waits on a server: httpx's timeouts bound each wait for bytes, not the exchange, so a
server that sends one byte every few seconds is never timed out (an alert webhook doing so held a failed refresh,
its lock and its stop for as long as it trickled; found by a QA pass)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class TimedOut(Exception):
    """The call had not returned after its total time; it is left to end on its own."""


def within(seconds: float, call: Callable[[], T], name: str = "jlac-deadline") -> T:
    """``call()``'s result or exception, or TimedOut once ``seconds`` have passed without one. The call runs in a
    daemon thread, which is left behind when it overruns: it holds nothing the caller needs, and a daemon thread does
    not keep the process alive. It runs in a copy of the caller's context: Prefect keeps its settings (the API's URL
    included) in context variables, which a new thread does not inherit."""
    box: dict = {}
    context = contextvars.copy_context()

    def run() -> None:
        try:
            box["value"] = context.run(call)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
            box["error"] = exc

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimedOut(f"no answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]
