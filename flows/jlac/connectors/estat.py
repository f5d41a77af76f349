"""What the e-Stat API v3 connectors share (``estat-trade``, ``mof-hs9-country``): the appId, the client's pacing,
and the fingerprint that ignores the time of the answer."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from jlac import connectors
from jlac.http import HttpClient

DEFAULT_URL = "https://api.e-stat.go.jp/rest/3.0/app"


def make_client(progress=None, **kwargs) -> HttpClient:
    """jlac's client, paced to at most two requests a second (min_interval 0.5 s)."""
    kwargs.setdefault("min_interval", 0.5)
    return connectors.make_client(progress=progress, **kwargs)


def app_id() -> str | None:
    """The appId from the environment, else from a Prefect Secret block (when one is named), without surrounding
    white space (a value pasted from a file keeps its line break, which the query would carry as %0A)."""
    value = (os.environ.get("JLAC_ESTAT_APPID") or "").strip()
    if value:
        return value
    block = os.environ.get("JLAC_ESTAT_APPID_BLOCK")
    if block:
        from prefect.blocks.system import Secret

        return str(Secret.load(block).get()).strip() or None
    return None


def data_fingerprint(path: Path) -> str:
    """sha256 of the response without RESULT.DATE (the time of the answer)."""
    doc = json.loads(path.read_bytes())
    for inner in doc.values():
        if isinstance(inner, dict):
            (inner.get("RESULT") or {}).pop("DATE", None)
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
