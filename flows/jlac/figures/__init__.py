"""Chart renderers, one module per figure: ``render(con, outdir) -> list[Path]``; ``render_all`` runs them.

A module that declares ``READS`` (the warehouse tables it reads) is drawn again only when those tables' content,
jlac's code or the versions of the libraries drawing them changed since the files in the output folder were drawn:
``figures.json`` there records, per module, a fingerprint of them and the files it wrote. A refresh that changes one
source leaves the charts that do not read it (and their files' dates) as they were; a module without ``READS`` is
always drawn.
With a cache folder (a refresh's: ``<JLAC_CACHE>/figures``), what a module drew is kept there under its fingerprint
and copied, not drawn again, into any output folder whose build has the same tables: a full rebuild of unchanged
data, a second warehouse home (staging and production) sharing the cache.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import pkgutil
from pathlib import Path

import duckdb

from jlac import output_cache, plan, warehouse

log = logging.getLogger(__name__)

RECORD = "figures.json"
FORMATS = ("png", "svg")
# figures.japan_main_lac_partners: the IMF series to 2020, MOF's file of Japan's 30 largest partners from 2021
MOF_FROM = 2021
DRAWN_BY = "_drawn_by"  # the record's entry naming the code and libraries that drew the folder (no module's name)


def write_csv(frame, path: Path) -> Path:
    """``frame`` (a pandas DataFrame) as CSV with booleans written true/false, as `jlac sql -f csv` (jlac.printing)
    writes them (pandas writes True/False); NULL stays an empty field."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype(object).map(lambda v: None if pd.isna(v) else ("true" if v else "false"))
    out.to_csv(path, index=False)
    return path


def year_spans(years) -> str:
    """Years as a chart's note says them: '1988-2017' for consecutive years, '2018, 2022' otherwise."""
    years = sorted({int(y) for y in years})
    if not years:
        return ""
    runs, start = [], years[0]
    for prev, y in zip(years, [*years[1:], None], strict=True):
        if y is None or y != prev + 1:
            runs.append(f"{start}-{prev}" if prev != start else f"{start}")
            start = y
    return ", ".join(runs)


def three_partner_from(bar_years) -> int:
    """The first year Figure 1 draws Mexico+Brazil+Chile as their own lines: MOF's first year, and never a year the
    CELAC-33 bars cover (three partners are not the region; once a release carries the bars past 2020, the lines start
    after them). One rule for the chart and the report page, which used to write it each its own way."""
    return max([MOF_FROM, *(int(y) + 1 for y in bar_years)])


def add_note(fig, text: str, fontsize: float = 7, x: float = 0.01, y: float = 0.01, right: float = 0.99) -> float:
    """Draw ``text`` as the figure's footnote at (``x``, ``y``), wrapped at spaces so every line ends before ``right``
    (shares of the figure), its own line breaks kept; return the share of the figure's height the note takes up to
    its top, plus a gap: the bottom of the ``rect`` to pass to ``save`` so the axes are laid out above it.

    Notes drawn on one line ran past the figure's right edge and were cut (Figure 3's ended at ~1,828 px of 1,656,
    the China lending chart's mid-year; found by a QA pass). Measured with the figure's renderer, not counted in
    characters: the fonts' widths differ."""
    artist = fig.text(x, y, "", fontsize=fontsize, color="#555555")
    renderer = fig.canvas.get_renderer()
    room = fig.bbox.width * (right - x)

    def width(line: str) -> float:
        artist.set_text(line)
        return artist.get_window_extent(renderer).width

    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and width(candidate) > room:  # a word wider than the room alone stays whole on its line
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    artist.set_text("\n".join(lines))
    return artist.get_window_extent(renderer).y1 / fig.bbox.height + 0.01


def save(fig, outdir: Path, stem: str, rect=(0, 0, 1, 1)) -> list[Path]:
    """Lay the figure out (``tight_layout`` within ``rect``), write ``<stem>.png`` and ``<stem>.svg``, close it.

    tight_layout leaves a placeholder layout engine on the figure, and with one set every savefig draws the whole
    figure once more, rendering nothing, before drawing it for real. Nothing is left to lay out after
    tight_layout, so the engine is removed: the same files, byte for byte, in fewer draws (the whole mirror's
    charts: 2.95 -> 2.25 s).
    """
    import matplotlib
    import matplotlib.pyplot as plt

    fig.tight_layout(rect=rect)
    fig.set_layout_engine(None)
    paths = []
    try:
        for ext in FORMATS:
            path = outdir / f"{stem}.{ext}"
            try:
                # the same chart, the same bytes: an SVG carried the time it was drawn (<dc:date>) and random clip-path
                # ids, so every redraw of unchanged data differed (found by a QA pass)
                with matplotlib.rc_context({"svg.hashsalt": "jlac"}):
                    fig.savefig(path, metadata={"Date": None} if ext == "svg" else None)
            except OSError as exc:  # a full disk was "OSError: No space left on device", no chart named (QA pass)
                raise OSError(exc.errno, f"{exc.strerror or exc} (writing a chart)", str(path)) from exc
            paths.append(path)
    finally:
        plt.close(fig)
    return paths


def _fingerprint(con: duckdb.DuckDBPyConnection, module, code: str) -> str | None:
    """sha256 over ``code`` (jlac's code and the drawing libraries' versions), the module's name and the content of
    every table it reads (row count and row-hash sums, independent of row order); None when the module does not say
    what it reads."""
    tables = getattr(module, "READS", None)
    if not tables:
        return None
    h = hashlib.sha256(f"{code}/{module.__name__}".encode())
    for table in sorted(tables):
        # the row's text too: DuckDB hashes -0.0 like 0.0, which a chart's CSV writes apart
        row = con.execute(f"SELECT count(*), bit_xor(hash(t)), sum(hash(t) >> 32), bit_xor(hash(CAST(t AS VARCHAR))) "
                          f"FROM {table} AS t").fetchone()
        h.update(f"{table}:{row}".encode())
    return h.hexdigest()


def _libraries() -> str:
    """The versions of the libraries whose work is in the files: matplotlib (charts), pandas (CSVs), countryinfo
    (Figure 2's map outline)."""
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "none"

    return ", ".join(f"{name} {of(name)}" for name in ("matplotlib", "pandas", "countryinfo"))


def drawing_code() -> str:
    """jlac's code fingerprint and the drawing libraries' versions: what, beside the tables, a chart depends on."""
    return f"{plan.code_fingerprint()}/{_libraries()}"


def drawn_by_other_code(folder: Path) -> bool:
    """The charts in ``folder`` were drawn by other code than this (another jlac version's `jlac figures`, after a
    rollback), or it records no code: an unchanged refresh then draws them again from the published warehouse.
    A rollback's charts were kept by the next refresh of the upgraded code, which found nothing changed (found by
    a QA pass). False when the folder has no record at all (no charts: nothing to keep in step)."""
    if not (folder / RECORD).is_file():
        return False
    return read_record(folder).get(DRAWN_BY, {}).get("code") != drawing_code()


def read_record(folder: Path | None) -> dict:
    """The figures record of an output folder (module -> fingerprint and files); {} when there is none or it is not
    one (unreadable, or not a JSON object): everything is drawn then."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8")) if folder else {}
    except (OSError, json.JSONDecodeError):
        return {}
    return {k: v for k, v in record.items() if isinstance(v, dict)} if isinstance(record, dict) else {}


def remove_stale(folder: Path, old: dict, new: dict) -> list[str]:
    """Delete from ``folder`` the files the ``old`` record lists and the ``new`` one does not (a chart no longer drawn:
    its table became empty, or a year left it); return their names. Names that would leave the folder are ignored."""
    def files(record: dict) -> set[str]:
        return {n for entry in record.values() for n in entry.get("files") or [] if isinstance(n, str)}

    gone = []
    for name in sorted(files(old) - files(new)):
        path = (folder / name).resolve()
        if path.parent == folder.resolve() and path.is_file():
            path.unlink()
            gone.append(name)
    if gone:
        log.info("figures: removed files no longer drawn from %s: %s", folder, ", ".join(gone))
    return gone


def render_all(db_path: Path, outdir: Path, previous: Path | None = None, cache: Path | None = None) -> list[Path]:
    """Run every ``jlac.figures.<name>.render(con, outdir)`` against a built warehouse; return the files written.

    ``previous``: the output folder of the published warehouse. A module whose fingerprint equals the one recorded
    there, and whose files are all still there, is not drawn again (its files stay where they are).
    ``cache``: a folder of earlier drawings by fingerprint (``jlac.output_cache``): a module drawn before from
    the same tables and code is copied from there instead of drawn.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    before = read_record(previous)
    drawn_here = read_record(outdir)  # what an earlier run drew into this same folder (jlac figures)
    record: dict = {}
    written: list[Path] = []
    kept, copied = [], []
    code = drawing_code()  # any code or library change draws all again
    # the published file may be held open for writing by a user's session (`jlac figures`): a copy is read then
    with warehouse.open_for_reading(db_path, lambda path: duckdb.connect(str(path), read_only=True)) as con:
        con.execute("SET python_enable_replacements = false")  # a missing table is named, not a module (warehouse.py)
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
            module = importlib.import_module(f"{__name__}.{info.name}")
            if not hasattr(module, "render"):
                continue
            fingerprint = _fingerprint(con, module, code)
            old = before.get(info.name, {})
            if fingerprint and old.get("fingerprint") == fingerprint and \
                    all((previous / name).is_file() for name in old.get("files", [])):
                record[info.name] = old
                kept.append(info.name)
                continue
            files = output_cache.restore(cache, info.name, fingerprint, outdir) if fingerprint and cache else None
            if files is not None:
                copied.append(info.name)
            else:
                files = module.render(con, outdir)
                if fingerprint and cache:
                    output_cache.keep(cache, info.name, fingerprint, outdir, files)
            written += files
            record[info.name] = {"fingerprint": fingerprint, "files": [p.relative_to(outdir).as_posix() for p in files]}
    record[DRAWN_BY] = {"code": code}
    (outdir / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
    remove_stale(outdir, drawn_here, record)
    if kept:
        log.info("figures unchanged since the published charts, not drawn again: %s", ", ".join(kept))
    if copied:
        log.info("figures drawn before from the same tables, copied from %s: %s", cache, ", ".join(copied))
    return written
