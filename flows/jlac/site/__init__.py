"""The report site: ``JLAC_OUTPUT/site/index.html`` and its assets, from a published (or finished) warehouse.

Static and offline: the charts are the SVGs ``jlac.figures`` renders (text as paths, no fonts to fetch), the
style sheet ships in ``assets/``, nothing is loaded from elsewhere. The page shows each figure of the report with
its caption (the report's and jlac's), its data table, the reconciliation with the report's statements and a
"where this comes from" box (sources, vintages, retrieval dates, licenses, sha256, the SQL model); then the
report's claims with their status, the revisions of published values by the latest publish, and the freshness
of every source. Written by ``jlac report`` and by the after-publish hook ``jlac.publish_hooks.site``.

The site is written beside the old one and swapped in with renames, so a reader never sees half a site.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import shutil
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb
import jinja2
import markupsafe
import yaml

from jlac import owned, revisions, transform, warehouse
from jlac.config import Settings
from jlac.site.sections import CLAIMS, SECTIONS, Section, TableSpec
from jlac.sources import all_sources

log = logging.getLogger(__name__)

CHART_EXTENSIONS = (".svg", ".png", ".csv")


def site_dir(settings: Settings) -> Path:
    return settings.output / "site"


# What a site holds, and in its assets (jlac.owned)
SITE_FILES = frozenset({"index.html", "assets"})
ASSET_SUFFIXES = frozenset({*CHART_EXTENSIONS, ".css"})
TITLE_MARK = "(jlac)</title>"  # in the page's title (templates/index.html.j2): a site written before the mark


def check_site_folder(folder: Path) -> None:
    """Raise JlacError unless ``folder`` (JLAC_OUTPUT/site) is jlac's to replace (``jlac.owned``): a site of the
    user's there, e.g. ``index.html`` and ``assets/`` of a homepage, was deleted without a word (found by QA passes)."""
    def foreign_assets(site: Path) -> list[str]:
        assets = site / "assets"
        if not assets.is_dir() or assets.is_symlink():
            return [] if not assets.exists() else ["assets"]
        return [f"assets/{p.name}" for p in sorted(assets.iterdir())
                if p.is_symlink() or not p.is_file() or p.suffix not in ASSET_SUFFIXES]

    def written_by_jlac(site: Path) -> bool:
        try:
            with (site / "index.html").open(encoding="utf-8", errors="replace") as fh:
                return TITLE_MARK in fh.read(4096)
        except OSError:
            return False

    owned.check_replaceable(folder, SITE_FILES, "its report site", legacy=written_by_jlac, inside=foreign_assets)


# --- reading the warehouse -----------------------------------------------------------------------

def read_table(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> dict:
    """Columns (name, type, comment) and rows of one table as the page shows it."""
    schema, name = spec.table.split(".")
    described = con.execute(
        "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE database_name = 'jlac' "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, name]).fetchall()
    if not described:
        return {"spec": spec, "columns": [], "rows": [], "missing": True}
    by_name = {c[0]: c for c in described}
    wanted = [c for c in (spec.columns or [c[0] for c in described]) if c in by_name]
    quoted = ", ".join(f'"{c}"' for c in wanted)
    sql = f"SELECT {quoted} FROM {spec.table}"
    if spec.where:
        sql += f" WHERE {spec.where}"
    if spec.order:
        sql += f" ORDER BY {spec.order}"
    rows = con.execute(sql).fetchall()
    columns = [{"name": c, "type": by_name[c][1], "comment": by_name[c][2] or ""} for c in wanted]
    return {"spec": spec, "columns": columns, "rows": rows, "missing": False}


def _model_sources(model_name: str, by_name: dict[str, dict]) -> tuple[set[str], set[str]]:
    """The raw and seed tables a model reads, down to the raw layer (from dbt's lineage, jlac.transform.lineage)."""
    reads = (by_name.get(model_name) or {}).get("reads", [])
    return {t for t in reads if t.startswith("raw.")}, {t for t in reads if t.startswith("seeds.")}


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether ``meta.<table>`` has ``column`` (a warehouse published by an older jlac may not)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'meta' AND table_name = ? "
                            "AND column_name = ?", [table, column]).fetchone()[0])


def _manifest(root: str) -> dict:
    """The SNAPSHOT.yml of a vintage folder (meta.snapshots.root), or {} when it is gone."""
    path = Path(root) / "SNAPSHOT.yml"
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}


def provenance(con: duckdb.DuckDBPyConnection, model_name: str, by_name: dict[str, dict]) -> dict:
    """Sources (vintage, retrieval, license, files with sha256), seeds and the SQL of one figure model."""
    raw, seeds = _model_sources(model_name, by_name)
    by_table = {f"raw.{s.table}": s for s in all_sources().values()}
    # the snapshot each source is built from (not an earlier vintage it reads: is_history, in warehouses since 7 Dec)
    history = _has_column(con, "snapshots", "is_history")
    built = "WHERE NOT is_history" if history else ""
    used = {r[0]: r for r in con.execute(
        f"SELECT source, any_value(vintage), any_value(root) FROM meta.snapshots {built} GROUP BY source").fetchall()}
    files = {}  # the earlier vintages' files too, said as such: published values come from them
    for source, vintage, file, sha256, size, older in con.execute(
            f"SELECT source, vintage, file, sha256, bytes, {'is_history' if history else 'false'} FROM meta.snapshots "
            "ORDER BY source, vintage DESC, file").fetchall():
        files.setdefault(source, []).append({"file": f"{file} (earlier vintage {vintage}, read for its values)"
                                             if older else file, "sha256": sha256, "bytes": size})
    # origins as the warehouse keeps them (meta.snapshot_origins): the snapshot folders may be gone or elsewhere (a
    # moved warehouse, a mirror no longer configured), and the page said "not stated in the snapshot" (QA pass)
    origins, earlier = {}, {}
    if _has_column(con, "snapshot_origins", "manifest"):
        origins = {source: json.loads(manifest or "{}") for source, manifest in con.execute(
            "SELECT source, manifest FROM meta.snapshot_origins WHERE NOT is_history").fetchall()}
        # an earlier vintage's own terms and retrieval: its values are published too, and a publisher's license
        # may change between releases (the page gave only the newest vintage's)
        for source, vintage, license_, retrieved in con.execute(
                "SELECT source, vintage, license, retrieved_at FROM meta.snapshot_origins WHERE is_history "
                "ORDER BY source, vintage DESC").fetchall():
            earlier.setdefault(source, []).append({"vintage": vintage, "license": license_,
                                                   "retrieved": retrieved or f"vintage {vintage}"})
    sources = []
    for table in sorted(raw):
        src = by_table.get(table)
        if src is None:
            continue
        row = used.get(src.name)
        manifest = origins.get(src.name) or (_manifest(row[2]) if row else {})
        sources.append({
            "name": src.name, "description": src.description, "vintage": row[1] if row else None,
            "title": manifest.get("title"), "publisher": manifest.get("publisher"),
            "url": _link(manifest.get("publisher_url") or manifest.get("url")),
            "retrieved": manifest.get("retrieved_at") or (f"vintage {row[1]}" if row else None),
            "retrieved_from": manifest.get("retrieved_from"), "license": manifest.get("license"),
            "files": files.get(src.name, []), "earlier": earlier.get(src.name, []),
        })
    seed_rows = []
    for table in sorted(seeds):
        comment = con.execute("SELECT comment FROM duckdb_tables() WHERE database_name = 'jlac' AND "
                              "schema_name = 'seeds' AND table_name = ?", [table.split(".")[1]]).fetchone()
        seed_rows.append({"name": table, "description": comment[0] if comment else ""})
    model = by_name.get(model_name)
    return {"model": model_name, "sql_path": model["path"] if model else None,
            "sql": model["sql"] if model else "", "sources": sources, "seeds": seed_rows}


# --- the page ------------------------------------------------------------------------------------

def cell_urls(value: str) -> list[tuple[str | None, str]]:
    """(href, text) of each part of a URL cell: one address, or several ' ; '-separated (secondary_source_url), each
    its own link (the whole cell was one href, a broken link: found by a QA pass). A note after an address stays in
    its text, out of its href; a part that is no address is text only."""
    out = []
    for part in (p.strip() for p in value.split(" ; ")):
        href = part.split()[0] if part.startswith(("http://", "https://")) else None
        out.append((href, part))
    return out


# Japanese script (kana, CJK ideographs and their punctuation and full-width forms): Table 1 quotes the Japanese
# names of the policies, which a screen reader read out with its English voice (found by a QA pass)
_JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")


def marked_languages(text: str) -> markupsafe.Markup:
    """``text`` escaped for HTML, each run of Japanese script in ``<span lang="ja">``."""
    out, at = [], 0
    for m in _JAPANESE.finditer(text):
        out += [markupsafe.escape(text[at:m.start()]), markupsafe.Markup('<span lang="ja">'),
                markupsafe.escape(m.group()), markupsafe.Markup("</span>")]
        at = m.end()
    out.append(markupsafe.escape(text[at:]))
    return markupsafe.Markup("").join(out)


def fmt_cell(value) -> str:
    """How a cell reads on the page; the test reads the same text back."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    return str(value)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _charts(section: Section, assets: Path) -> list[dict]:
    names = sorted(p.name for p in assets.iterdir())
    out = []
    for pattern, alt in section.charts:
        hits = [n for n in names if fnmatch.fnmatch(n, pattern) and n not in {c["file"] for c in out}]
        if hits:
            name = hits[-1]  # the latest year for patterns such as fig2_..._2*.svg
            stem = name.rsplit(".", 1)[0]
            out.append({"file": name, "alt": alt, "description": None,
                        "png": f"{stem}.png" if f"{stem}.png" in names else None,
                        "csv": f"{stem}.csv" if f"{stem}.csv" in names else None})
    return out


def _freshness(settings: Settings, con: duckdb.DuckDBPyConnection, dropped=()) -> list[dict]:
    """Per source: the newest vintage found, and the vintage the rendered warehouse was built from (its
    ``meta.snapshots``), with its state. Read from the run ledger, the site written by the publish itself showed the
    run before (its line is written after the hooks) and a source built without at ``--drop`` as "missing" (found by a
    QA pass). ``dropped``: the sources the publishing run built without on purpose (its ledger line not yet written)."""
    from jlac.ops import status

    used = dict(con.execute("SELECT source, max(vintage) FROM meta.snapshots GROUP BY source").fetchall())
    today = datetime.now(UTC).date()
    out = []
    for s in status.source_status(settings):
        vintage = used.get(s.source)
        limit, age = s.rhythm.stale_after_days, status.vintage_age(vintage, today)
        if vintage is not None:
            state = "stale" if limit is not None and age is not None and age > limit else "fresh"
        elif s.source in dropped or s.dropped:
            state = "dropped (built without it at --drop)"
        elif s.vintage is None:
            state = "stale" if s.required else "no snapshot"
        else:
            state = "not loaded"
        out.append({"source": s.source, "rhythm": s.rhythm.rhythm, "vintage": s.vintage, "age_days": s.age_days,
                    "used_vintage": vintage, "used_age_days": age, "state": state, "note": s.rhythm.note})
    return out


def render_page(con: duckdb.DuckDBPyConnection, settings: Settings, assets: Path, dropped=()) -> str:
    """The HTML of index.html for the warehouse behind ``con`` (charts already in ``assets``); ``dropped``: the
    sources its run built without at ``--drop``."""
    by_name = transform.lineage(settings)
    sections = []
    for section in SECTIONS:
        sections.append({
            "section": section, "charts": _charts(section, assets),
            "tables": [read_table(con, t) for t in section.tables],
            "reconciliation": [read_table(con, t) for t in section.reconciliation],
            "provenance": provenance(con, section.tables[0].table, by_name),
        })
    by_id = {p["section"].id: p for p in sections}
    for page in sections:  # what each chart shows, from the rows read (Figure 1 draws the next section's too)
        if page["section"].chart_text is not None:
            for chart in page["charts"]:
                chart["description"] = page["section"].chart_text(page, by_id, chart["file"])
    try:
        changes = revisions.read(con)
    except LookupError:
        changes = revisions.Revisions("none", None, [])
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("jlac.site", "templates"), autoescape=True,  # every template is HTML (.html.j2)
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["fmt"] = fmt_cell
    env.filters["urls"] = cell_urls
    env.filters["lang"] = marked_languages
    env.tests["number"] = _is_number
    published = revisions.published_run(con)
    run = con.execute("SELECT run_id, ended FROM meta.runs WHERE run_id = ?", [published]).fetchone() \
        if published else None
    return env.get_template("index.html.j2").render(
        sections=sections, claims=read_table(con, CLAIMS), revisions=changes,
        freshness=_freshness(settings, con, dropped),
        run_id=run[0] if run else None, built=run[1] if run else None,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def write_site(settings: Settings, db_path: Path | None = None, charts: Path | None = None, dropped=()) -> Path:
    """Write the site for ``db_path`` (default: the published warehouse); return the path of index.html.

    ``charts``: a folder holding the charts the same warehouse's refresh just rendered (the after-publish hook
    passes JLAC_OUTPUT), copied instead of rendered again; without it the charts are rendered from ``db_path``.
    ``dropped``: the sources the publishing run built without at ``--drop`` (the hook passes its record's).
    """
    from jlac import figures

    db_path = db_path or settings.warehouse
    target = site_dir(settings)
    check_site_folder(target)  # before any work: a folder of the user's is refused
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(target.parent)
    tmp = target.with_name(f".site-{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    assets = tmp / "assets"
    assets.mkdir(parents=True)
    try:
        if charts is not None:
            # the files the figures record lists: with JLAC_OUTPUT=$HOME every picture there went into the site
            listed = {n for entry in figures.read_record(charts).values() for n in entry.get("files") or []}
            for p in charts.iterdir():
                if p.is_file() and p.suffix in CHART_EXTENSIONS and (not listed or p.name in listed):
                    shutil.copy2(p, assets / p.name)
        else:
            for p in figures.render_all(db_path, assets):
                if p.suffix not in CHART_EXTENSIONS:
                    p.unlink(missing_ok=True)
            (assets / figures.RECORD).unlink(missing_ok=True)  # what was drawn from what: not part of the site
        style = resources.files("jlac.site").joinpath("templates/site.css").read_text(encoding="utf-8")
        (assets / "site.css").write_text(style, encoding="utf-8")
        con = warehouse.attach_readonly(db_path)
        try:
            html = render_page(con, settings, assets, dropped)
        finally:
            con.close()
        (tmp / "index.html").write_text(html, encoding="utf-8")
        owned.mark(tmp)
        old = target.with_name(f".site-{os.getpid()}.old")
        check_site_folder(target)  # made while the site was written
        if target.exists() or target.is_symlink():
            os.replace(target, old)
        os.replace(tmp, target)
        _remove(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("report site written: %s", target / "index.html")
    return target / "index.html"


def _remove_abandoned(parent: Path) -> None:
    """Remove the work folders (``.site-<pid>.tmp``/``.old``) of site writes whose process is gone (killed: no
    ``except`` ran); a live writer's, another user's included, are left alone."""
    for folder in parent.glob(".site-*.*"):
        try:
            pid = int(folder.name.split("-", 1)[1].split(".", 1)[0])
            os.kill(pid, 0)
        except ValueError:  # not one of ours
            continue
        except ProcessLookupError:
            _remove(folder)
        except PermissionError:
            continue


def _remove(path: Path) -> None:
    """Remove a work folder, or a file where the site's folder was a file (rmtree leaves a file where it was)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():  # files of another user (a site written as root): said, not left without a word (QA pass)
            log.warning("could not remove %s (files this user may not delete: written by another user?); remove it "
                        "as that user", path)
    else:
        path.unlink(missing_ok=True)


def _link(text: str | None) -> str | None:
    """The address in a manifest's URL field: some carry a note after it ('https://data-explorer.oecd.org/
    (DSD_DAC2@DF_DAC2A)'), which in an href made a broken link."""
    first = str(text or "").split()
    return first[0] if first and first[0].startswith(("http://", "https://")) else None
