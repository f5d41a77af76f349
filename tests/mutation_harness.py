"""Mutation harness: damaged and odd-but-valid variants of a real snapshot, run through the refresh's own path.

A case copies a source's base snapshot (its latest real vintage in the mirror, or files built from the API
recordings for live-only sources), applies one mutation, reseals the manifest (``write_manifest``) and runs
what a refresh runs for one source: ``snapshots.verify`` -> ``parse.parse_to_cache`` -> ``load.load_raw``
into a scratch build -> ``validation.validate_source``. The outcome is one of: refused at parse (a jlac error),
refused by validation (a failed GX suite and its report), or accepted (rows loaded, every suite passed). Any
other exception is a defect the test reports as such: no traceback may reach a user for bad input.

Generic mutations work on the file types a source has: every file (truncated, empty, HTML error page, wrong
encoding) and one table in it (CSV, a sheet of an .xlsx, an .xlsx inside a .zip: renamed, missing, extra or
annotated header cells; non-numeric and out-of-range values; repeated rows, equal and conflicting; unknown
codes; a row shifted by one cell). JSON and XML bodies get record-level mutations. Source specs live in
``tests/mutation_sources.py``.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import openpyxl
import yaml
from conftest import MIRROR, write_manifest
from jlac import countries, errors, load, parse, quarantine, validation
from jlac.config import Settings
from jlac.errors import JlacError, ValidationFailed
from jlac.snapshots import MANIFEST, latest_snapshot, load_snapshot, verify
from jlac.sources import all_sources

HTML = (b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head>\n"
        b"<body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request.</p>"
        b"</body></html>\n")


# --- what a case expects --------------------------------------------------------------------------

@dataclass(frozen=True)
class Refused:
    """The source is stopped: at ``stage`` parse or validate (``any``: either), naming the place."""

    stage: str = "any"
    why: str = ""


@dataclass(frozen=True)
class Gap:
    """Damaged data the source still accepts: a known gap, stated in docs/robustness.md; the test pins it so a
    fix shows up (then make it a refusal)."""

    why: str
    same_rows: bool = False


@dataclass(frozen=True)
class Accepted:
    """Valid data in a form the publisher uses; ``why`` gives the publisher's evidence."""

    why: str
    same_rows: bool = False  # loads exactly the rows of the unmutated base (e.g. an identical repeat dropped)


# --- what a mutation did --------------------------------------------------------------------------

@dataclass
class Change:
    """Where a mutation struck, so that a refusal can be checked for naming it."""

    file: str  # path in the snapshot
    where: set[str] = field(default_factory=set)  # any of these in the message names the row/column/cell
    values: tuple[str, ...] = ()  # all of these must appear (e.g. both values of a conflict)


# --- tables: CSV, a sheet of an .xlsx, an .xlsx in a .zip -----------------------------------------

@dataclass(frozen=True)
class Table:
    """The table the generic table mutations aim at, in a source's base snapshot."""

    file: str  # path in the snapshot
    value: str  # header of a numeric column
    code: str | int | None = None  # header (or index) of a column of names/codes the source must know
    conflict: str | None = None  # header of the column a conflicting repeat changes (default: value)
    unknown: str = "Republic of Atlantis"  # a name/code no publisher uses
    out_of_range: str = "-5"  # a value the source must refuse (negative, unless the source allows it)
    row: int = 1  # data row aimed at (1 = first after the header)
    header_row: int = 0  # index of the header in the file's rows (0-based, leading rows of a sheet included)
    sheet: str | None = None  # .xlsx: the sheet (default: the first)
    delimiter: str = ","
    encoding: str = "utf-8"
    number: Callable[[str], str] | None = None  # how a value is written back changed (default: +1 as text)
    scaled: bool = False  # the source scales the value (SDMX UNIT_MULT): a message shows it scaled, not as written

    @property
    def data_row(self) -> int:
        return self.header_row + self.row


def _csv_read(path: Path, t: Table) -> tuple[list[list], dict]:
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode(t.encoding + ("-sig" if bom else ""))
    newline = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=t.delimiter))
    return rows, {"bom": bom, "newline": newline}


def _csv_write(path: Path, t: Table, rows: list[list], meta: dict) -> None:
    out = io.StringIO()
    csv.writer(out, delimiter=t.delimiter, lineterminator=meta["newline"]).writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if meta["bom"] else b"") + out.getvalue().encode(t.encoding))


def _sheet_edit(t: Table, edit: Callable[[list[list]], None]) -> Callable[[openpyxl.Workbook], None]:
    """A workbook edit that hands the table's sheet to ``edit`` as rows of values and writes back what changed."""

    def on(wb: openpyxl.Workbook) -> None:
        ws = wb[t.sheet] if t.sheet else wb.worksheets[0]
        before = [list(r) for r in ws.iter_rows(values_only=True)]
        rows = [list(r) for r in before]
        edit(rows)
        if [len(r) for r in rows] == [len(r) for r in before]:  # cells changed in place: write only those
            for i, (old, new) in enumerate(zip(before, rows, strict=True), 1):
                for j, (a, b) in enumerate(zip(old, new, strict=True), 1):
                    if a != b:
                        ws.cell(row=i, column=j, value=b)
            return
        ws.delete_rows(1, ws.max_row)  # rows or cells added or removed: the sheet written again
        for i, row in enumerate(rows, 1):
            for j, v in enumerate(row, 1):
                if v is not None:
                    ws.cell(row=i, column=j, value=v)
    return on


def edit_table(vintage: Path, t: Table, edit: Callable[[list[list]], None]) -> None:
    """Read the table, let ``edit`` change its rows in place, write it back in the same format."""
    path = vintage / t.file
    if path.suffix.lower() == ".csv":
        rows, meta = _csv_read(path, t)
        edit(rows)
        _csv_write(path, t, rows, meta)
    elif path.suffix.lower() in (".xlsx", ".zip"):
        edit_workbook(vintage, t, _sheet_edit(t, edit))  # one load and one save of the workbook
    else:
        raise AssertionError(f"no table reader for {t.file}")


def edit_workbook(vintage: Path, t: Table, edit: Callable[[openpyxl.Workbook], None]) -> None:
    """Let ``edit`` change the workbook (.xlsx, or the .xlsx inside a .zip) and write it back."""
    path = vintage / t.file
    inner = None
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            inner = next(n for n in zf.namelist() if n.lower().endswith(".xlsx"))
            data = zf.read(inner)
    else:
        data = path.read_bytes()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    if inner is None:
        path.write_bytes(out.getvalue())
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(inner, out.getvalue())


def sheet_mutations(t: Table) -> dict[str, Callable[[Path], Change]]:
    """Renamed, missing and extra sheets of a workbook table."""

    def sheet(wb):
        return wb[t.sheet] if t.sheet else wb.worksheets[0]

    def renamed(v: Path) -> Change:
        name = {}

        def edit(wb):
            ws = sheet(wb)
            name["old"] = ws.title
            ws.title = f"{ws.title[:25]} (2)"
        edit_workbook(v, t, edit)
        return Change(t.file, {name["old"]})

    def missing(v: Path) -> Change:
        name = {}

        def edit(wb):
            ws = sheet(wb)
            name["old"] = ws.title
            if len(wb.worksheets) == 1:
                wb.create_sheet("Sheet1")
            wb.remove(ws)
        edit_workbook(v, t, edit)
        return Change(t.file, {name["old"]})

    def extra(v: Path) -> Change:
        edit_workbook(v, t, lambda wb: wb.create_sheet("Notes").append(["Source: see the publisher's notes"]))
        return Change(t.file)

    return {"sheet renamed": renamed, "sheet missing": missing, "sheet extra": extra}


def _col(rows: list[list], t: Table, header: str | int) -> int:
    if isinstance(header, int):
        return header
    cells = [str(c).strip() if c is not None else "" for c in rows[t.header_row]]
    assert header in cells, f"{t.file}: no column {header!r} in header {cells[:12]}"
    return cells.index(header)


def _bump(t: Table, cell) -> object:
    if t.number:
        return t.number(cell)
    if isinstance(cell, (int, float)):
        return cell + 1
    text = str(cell)
    m = re.match(r"^(\s*-?)(\d+)(.*)$", text)  # add one to the whole part: same layout, another number
    if not m:
        return f"{text} (2)"
    return f"{m.group(1)}{int(m.group(2)) + 1}{m.group(3)}"


def _row_names(rows: list[list], t: Table) -> set[str]:
    """Ways a message may name the data row aimed at: its number in the file, or its code/name cell."""
    names = {f"#{t.data_row + 1}"}
    row = rows[t.data_row]
    if t.code:
        names.add(str(row[_col(rows, t, t.code)]).strip())
    first = str(row[0]).strip() if row and row[0] is not None else ""
    if first:
        names.add(first)
    return names


def table_mutations(t: Table) -> dict[str, Callable[[Path], Change]]:
    """The generic mutations of one table; each edits the vintage folder and says where it struck."""

    def header_rename(v: Path) -> Change:
        def edit(rows):
            rows[t.header_row][_col(rows, t, t.value)] = f"{t.value} (renamed)"
        edit_table(v, t, edit)
        return Change(t.file, {t.value})

    def header_note(v: Path) -> Change:
        def edit(rows):
            rows[t.header_row][_col(rows, t, t.value)] = f"{t.value} 1/"  # a footnote mark, as statistical tables use
        edit_table(v, t, edit)
        return Change(t.file, {t.value, f"{t.value} 1/"})

    def column_missing(v: Path) -> Change:
        def edit(rows):
            j = _col(rows, t, t.value)
            for r in rows[t.header_row:]:
                if len(r) > j:
                    del r[j]
        edit_table(v, t, edit)
        return Change(t.file, {t.value, "column", "columns", "header"})

    def column_extra(v: Path) -> Change:
        def edit(rows):
            for i, r in enumerate(rows[t.header_row:]):
                r.append("Remarks" if i == 0 else "see note")
        edit_table(v, t, edit)
        return Change(t.file, {"Remarks", "column", "columns", "header"})

    def value_text(v: Path) -> Change:
        found = {}

        def edit(rows):
            found.update(names=_row_names(rows, t))
            rows[t.data_row][_col(rows, t, t.value)] = "n.a.*"
        edit_table(v, t, edit)
        return Change(t.file, found["names"], values=("n.a.*",))

    def value_nan(v: Path) -> Change:  # float() and DuckDB read it as a number: NaN, which no range check stops
        found = {}

        def edit(rows):
            found.update(names=_row_names(rows, t))
            rows[t.data_row][_col(rows, t, t.value)] = "NaN"
        edit_table(v, t, edit)
        return Change(t.file, found["names"])

    def value_out_of_range(v: Path) -> Change:
        found = {}

        def edit(rows):
            found.update(names=_row_names(rows, t))
            j = _col(rows, t, t.value)
            old = rows[t.data_row][j]
            rows[t.data_row][j] = float(t.out_of_range) if isinstance(old, (int, float)) else t.out_of_range
        edit_table(v, t, edit)
        return Change(t.file, found["names"])

    def repeat_equal(v: Path) -> Change:
        def edit(rows):
            rows.insert(t.data_row + 1, list(rows[t.data_row]))
        edit_table(v, t, edit)
        return Change(t.file)

    def repeat_conflicting(v: Path) -> Change:
        found = {}

        def edit(rows):
            j = _col(rows, t, t.conflict or t.value)
            again = list(rows[t.data_row])
            again[j] = _bump(t, again[j])
            found.update(names=_row_names(rows, t), values=(rows[t.data_row][j], again[j]))
            rows.insert(t.data_row + 1, again)
        edit_table(v, t, edit)
        old, new = found["values"]
        return Change(t.file, found["names"], values=() if t.scaled else (_number_text(old), _number_text(new)))

    def unknown_code(v: Path) -> Change:
        found = {}

        def edit(rows):
            found.update(names=_row_names(rows, t))
            rows[t.data_row][_col(rows, t, t.code)] = t.unknown
        edit_table(v, t, edit)
        return Change(t.file, {t.unknown} | found["names"])

    def row_shifted(v: Path) -> Change:
        found = {}

        def edit(rows):
            found.update(names=_row_names(rows, t))
            row = rows[t.data_row]
            first = next(j for j, c in enumerate(row) if c not in (None, ""))
            del row[first]  # every cell of the row from its first one on moves one column to the left
        edit_table(v, t, edit)
        return Change(t.file, found["names"])

    def rewritten(v: Path) -> Change:
        edit_table(v, t, lambda rows: None)
        return Change(t.file)

    out = {
        "table rewritten, unchanged": rewritten, "header renamed": header_rename,
        "header footnote mark": header_note, "column missing": column_missing,
        "column extra": column_extra, "value not a number": value_text, "value NaN": value_nan,
        "value out of range": value_out_of_range,
        "row repeated, same values": repeat_equal, "row repeated, conflicting value": repeat_conflicting,
        "row shifted by one cell": row_shifted,
    }
    if t.code:
        out["unknown code"] = unknown_code
    return out


def _number_text(value) -> str:
    """How a value shows in a message: 1032.13 for the float 1032.13, the text itself otherwise."""
    if isinstance(value, float):
        return repr(value)
    text = str(value).strip().replace(",", "")
    try:
        number = float(re.sub(r"\s*e$", "", text))
    except ValueError:
        return text
    return repr(int(number)) if number.is_integer() and "." not in text else repr(number).rstrip("0").rstrip(".")


# --- whole files ----------------------------------------------------------------------------------

def file_mutations(file: str, text_encoding: str | None = "utf-8") -> dict[str, Callable[[Path], Change]]:
    """Truncated, empty, HTML instead of data, and (text files) the wrong encoding: UTF-16 as Excel saves it."""

    def truncated(v: Path) -> Change:
        p = v / file
        data = p.read_bytes()
        p.write_bytes(data[: max(1, len(data) // 2)])
        return Change(file, {file})

    def empty(v: Path) -> Change:
        (v / file).write_bytes(b"")
        return Change(file, {file})

    def html(v: Path) -> Change:
        (v / file).write_bytes(HTML)
        return Change(file, {file})

    def utf16(v: Path) -> Change:
        p = v / file
        codec = text_encoding + ("-sig" if text_encoding == "utf-8" else "")
        p.write_bytes(p.read_bytes().decode(codec).encode("utf-16"))
        return Change(file, {file})

    def line_endings(v: Path) -> Change:  # as a publisher's or a user's tool re-saves one file of a release
        p = v / file
        data = p.read_bytes()
        p.write_bytes(data.replace(b"\r\n", b"\n") if b"\r\n" in data else data.replace(b"\n", b"\r\n"))
        return Change(file, {file})

    out = {"file truncated": truncated, "file empty": empty, "HTML error page instead of data": html}
    if text_encoding:
        out["wrong encoding (UTF-16)"] = utf16
        out["line endings switched (CRLF <-> LF)"] = line_endings
    return out


# --- JSON bodies: records in a list ---------------------------------------------------------------

@dataclass(frozen=True)
class Records:
    """A JSON file whose records sit in a list at ``path`` (keys), with a numeric and a code field."""

    file: str
    path: tuple[str, ...]
    value: str
    code: str
    unknown: object = "999"
    out_of_range: object = -5
    names: tuple[str, ...] = ()  # fields whose values name a record in a message (besides its index)


def json_mutations(r: Records) -> dict[str, Callable[[Path], Change]]:
    def edit(v: Path, change: Callable[[list], object]) -> object:
        p = v / r.file
        doc = json.loads(p.read_text(encoding="utf-8-sig"))
        node = parent = doc
        for k in r.path:
            parent, node = node, node[k]
        result = change(node)
        if isinstance(parent, dict) and isinstance(parent.get("count"), int):
            parent["count"] = len(node)  # as the publisher would count them (Comtrade's count is checked against data)
        p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return result

    def field_renamed(v):
        edit(v, lambda recs: recs[0].update({f"{r.value}_v2": recs[0].pop(r.value)}))
        return Change(r.file, {r.value})

    def field_extra(v):
        edit(v, lambda recs: [rec.update(remarks="see note") for rec in recs])
        return Change(r.file)

    def label(rec: dict) -> set[str]:
        return {"[0]", *(str(rec.get(k)) for k in r.names)}

    def value_text(v):
        rec = edit(v, lambda recs: (recs[0].update({r.value: "n.a.*"}), recs[0])[1])
        return Change(r.file, label(rec) | {"n.a.*"})

    def value_nan(v):
        rec = edit(v, lambda recs: (recs[0].update({r.value: "NaN"}), recs[0])[1])
        return Change(r.file, label(rec))

    def value_out_of_range(v):
        rec = edit(v, lambda recs: (recs[0].update({r.value: r.out_of_range}), recs[0])[1])
        return Change(r.file, label(rec))

    def repeat_equal(v):
        edit(v, lambda recs: recs.insert(1, copy.deepcopy(recs[0])))
        return Change(r.file)

    def repeat_conflicting(v):
        def change(recs):
            again = copy.deepcopy(recs[0])
            old = again[r.value]
            again[r.value] = (str(int(float(str(old).replace(",", ""))) + 1) if isinstance(old, str)
                              else old + 1)
            recs.insert(1, again)
            return old, again[r.value]
        old, new = edit(v, change)
        return Change(r.file, values=(_number_text(old), _number_text(new)))

    def unknown_code(v):
        edit(v, lambda recs: recs[0].update({r.code: r.unknown}))
        return Change(r.file, {str(r.unknown)}, values=(str(r.unknown),))

    return {"field renamed": field_renamed, "field extra": field_extra, "value not a number": value_text,
            "value NaN": value_nan, "value out of range": value_out_of_range,
            "record repeated, same values": repeat_equal, "record repeated, conflicting value": repeat_conflicting,
            "unknown code": unknown_code}


# --- XML bodies: observation elements ------------------------------------------------------------

@dataclass(frozen=True)
class Elements:
    """An XML file whose observations are elements ``tag`` with a numeric attribute; codes on their parent."""

    file: str
    tag: str  # local name, e.g. Obs
    value: str  # attribute, e.g. OBS_VALUE
    parent_code: str  # attribute of the parent, e.g. COUNTERPART_COUNTRY
    unknown: str = "ZZZ"
    out_of_range: str = "-5"


def xml_mutations(x: Elements) -> dict[str, Callable[[Path], Change]]:
    import xml.etree.ElementTree as ET

    def edit(v: Path, change: Callable[[ET.Element, ET.Element], object]) -> object:
        p = v / x.file
        for _, (prefix, uri) in ET.iterparse(p, events=["start-ns"]):
            if prefix != "xml" and not re.fullmatch(r"ns\d+", prefix):
                ET.register_namespace(prefix, uri)
        tree = ET.parse(p)
        parent = next(e for e in tree.iter() if any(c.tag.rsplit("}", 1)[-1] == x.tag for c in e))
        obs = next(c for c in parent if c.tag.rsplit("}", 1)[-1] == x.tag)
        result = change(parent, obs)
        tree.write(p, encoding="UTF-8", xml_declaration=True)
        return result

    def attribute_renamed(v):
        edit(v, lambda parent, obs: obs.set(f"{x.value}_V2", obs.attrib.pop(x.value)))
        return Change(x.file)

    def value_text(v):
        edit(v, lambda parent, obs: obs.set(x.value, "n.a.*"))
        return Change(x.file, {"n.a.*"}, values=("n.a.*",))

    def value_out_of_range(v):
        edit(v, lambda parent, obs: obs.set(x.value, x.out_of_range))
        return Change(x.file)

    def repeat(v, conflicting: bool):
        def change(parent, obs):
            again = copy.deepcopy(obs)
            if conflicting:
                again.set(x.value, str(float(obs.get(x.value)) + 1))
            parent.insert(list(parent).index(obs) + 1, again)
            return obs.get(x.value), again.get(x.value)
        old, new = edit(v, change)
        return Change(x.file, values=(_number_text(old), _number_text(new)) if conflicting else ())

    def unknown_code(v):
        edit(v, lambda parent, obs: parent.set(x.parent_code, x.unknown))
        return Change(x.file, {x.unknown}, values=(x.unknown,))

    return {"attribute renamed": attribute_renamed, "value not a number": value_text,
            "value out of range": value_out_of_range,
            "observation repeated, same values": lambda v: repeat(v, False),
            "observation repeated, conflicting value": lambda v: repeat(v, True), "unknown code": unknown_code}


# --- sources and cases ---

_SAME = "the core drops a row that repeats another's key and values (counted in the log)"
# Outcomes of the generic mutations when a spec says nothing; every other generic mutation must be refused.
DEFAULTS = {
    "unchanged (control)": Accepted("the real file as the publisher sent it", same_rows=True),
    "table rewritten, unchanged": Accepted("the same table written back by Python's csv/openpyxl", same_rows=True),
    "row repeated, same values": Accepted(_SAME, same_rows=True),
    "record repeated, same values": Accepted(_SAME, same_rows=True),
    "observation repeated, same values": Accepted(_SAME, same_rows=True),
    "sheet extra": Accepted("sheets are read by name (MIDEPLAN: the one with a header row); a notes sheet "
                            "is not read", same_rows=True),
    "field extra": Accepted("APIs add fields to their records over time; the parser reads the fields it needs by "
                            "name"),
    # DuckDB sniffs a list of CSV files by the first one: another line ending in a later file lost it, without an
    # error (found by a QA pass); files are now read one by one
    "line endings switched (CRLF <-> LF)": Accepted("Windows and Unix line endings are both text; a release may "
                                                    "mix them", same_rows=True),
}


@dataclass
class SourceSpec:
    """How to attack one source: its base snapshot, the table or records to aim at, what each case expects.

    ``expect`` maps a mutation name to its outcome; a generic mutation not listed gets its ``DEFAULTS`` outcome
    (controls and identical repeats accepted) or is expected refused (at any stage). ``extra`` adds
    source-specific cases (accepted layout variants, ...): name -> (mutation, outcome).
    """

    source: str
    tables: tuple[Table, ...] = ()
    records: tuple[Records, ...] = ()
    elements: tuple[Elements, ...] = ()
    files: tuple[str, ...] = ()  # mirror files to keep (glob patterns; default: all) - keeps cases fast
    build: Callable[[Path], None] | None = None  # live-only sources: write the base files into the folder
    encoding: str | None = "utf-8"  # of the text files; None: binary (xlsx, zip)
    expect: dict[str, Refused | Accepted | Gap] = field(default_factory=dict)
    extra: dict[str, tuple[Callable[[Path], Change], Refused | Accepted | Gap]] = field(default_factory=dict)
    skip: tuple[str, ...] = ()  # generic mutations that do not apply, each with the reason in the spec
    # other sources whose raw tables the source's checks read (loaded from the mirror as a refresh would)
    with_sources: tuple[str, ...] = ()

    def base_files(self) -> list[str]:
        return sorted({t.file for t in self.tables} | {r.file for r in self.records} | {e.file for e in self.elements})

    def cases(self) -> dict[str, tuple[Callable[[Path], Change], Refused | Accepted | Gap]]:
        out: dict[str, tuple[Callable[[Path], Change], Refused | Accepted | Gap]] = {}
        generic: dict[str, Callable[[Path], Change]] = {}
        for f in self.base_files():
            enc = self.encoding if Path(f).suffix.lower() in (".csv", ".json", ".xml", ".txt") else None
            for name, m in file_mutations(f, enc).items():
                generic[name if len(self.base_files()) == 1 else f"{name}: {f}"] = m
        for t in self.tables:
            generic.update(table_mutations(t))
            if Path(t.file).suffix.lower() in (".xlsx", ".zip"):
                generic.update(sheet_mutations(t))
        for r in self.records:
            generic.update(json_mutations(r))
        for e in self.elements:
            generic.update(xml_mutations(e))
        generic["unchanged (control)"] = lambda v: Change("")
        for name, m in generic.items():
            if name not in self.skip:
                out[name] = (m, self.expect.get(name, DEFAULTS.get(name.split(": ")[0], Refused())))
        unknown = set(self.expect) - set(generic) - set(self.extra)
        assert not unknown, f"{self.source}: expectations for mutations that do not exist: {sorted(unknown)}"
        out.update(self.extra)
        return out


def base_snapshot(spec: SourceSpec, root: Path) -> Path:
    """The vintage folder of the unmutated base under ``root`` (mirror layout), manifest sealed."""
    if spec.build is not None:
        vintage = root / spec.source / "2026-11-01"
        vintage.mkdir(parents=True)
        spec.build(vintage)
        write_manifest(vintage, spec.source)
        return vintage
    snap = latest_snapshot(spec.source, Settings(warehouse=root / "unused.duckdb", snapshots=root / "none",
                                                 mirrors=(MIRROR,), output=root / "out"))
    assert snap is not None, f"{spec.source}: no snapshot in the mirror {MIRROR}"
    vintage = root / spec.source / snap.vintage
    vintage.mkdir(parents=True)
    keep = [f.path for f in snap.files if not spec.files or any(Path(f.path).match(g) for g in spec.files)]
    assert keep, f"{spec.source}: none of {spec.files} in {snap.id}"
    for rel in keep:
        (vintage / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(snap.path(rel), vintage / rel)
    extra = {k: v for k, v in snap.manifest.items() if k not in ("source", "vintage", "files")}
    write_manifest(vintage, spec.source, extra)
    return vintage


@dataclass
class Outcome:
    stage: str  # "parse", "validate" or "accepted"
    message: str = ""
    report: str = ""
    rows: int = 0
    error: BaseException | None = None


def run_source(source_name: str, vintage: Path, home: Path, with_sources: tuple[str, ...] = ()) -> Outcome:
    """What a refresh runs for one source, on the vintage folder; a non-jlac exception propagates.

    ``with_sources`` are loaded first from the real mirror (raw tables the source's checks join)."""
    source = all_sources()[source_name]
    settings = Settings(warehouse=home / "wh" / "jlac.duckdb", snapshots=home / "store",
                        mirrors=(vintage.parent.parent,), output=home / "out")
    snapshot = load_snapshot(vintage)
    try:
        verify(snapshot)
        parquet = parse.parse_to_cache(settings, source, snapshot)
    except JlacError as exc:
        return Outcome("parse", str(exc), error=exc)
    build = home / "build.duckdb"
    with duckdb.connect(str(build)) as con:
        for schema in ("raw", "staging", "seeds"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for name in with_sources:
            other = all_sources()[name]
            snap = latest_snapshot(name, Settings(warehouse=home / "unused.duckdb", snapshots=home / "none",
                                                  mirrors=(MIRROR,), output=home / "out"))
            load.load_raw(con, other, snap, parse.parse_to_cache(settings, other, snap))
        rows = load.load_raw(con, source, snapshot, parquet)
        countries.build_name_map_table(con, {source_name: source})
        quarantine.apply(con, {source_name: source})  # as the refresh's load stage does
    with validation.one_database(build):  # as the refresh's validate stage
        results = validation.validate_source(build, source, snapshot)
    if any(not r.success for r in results):
        report = validation.write_report(results, home / "validation.md", "mutation", {source_name: str(vintage)})
        exc = ValidationFailed(validation.summary(results), report_path=report)
        return Outcome("validate", str(exc), report.read_text(encoding="utf-8"), rows, exc)
    return Outcome("accepted", rows=rows)


def reseal(vintage: Path) -> None:
    """Write the manifest again for the changed files, keeping its origin metadata."""
    manifest = yaml.safe_load((vintage / MANIFEST).read_text(encoding="utf-8"))
    extra = {k: v for k, v in manifest.items() if k not in ("source", "vintage", "files")}
    write_manifest(vintage, manifest["source"], extra)


def _names(token: str, text: str) -> bool:
    """``#12`` means row or line 12 (as 'row 12', 'line 12', "'row_number': 12"); other tokens as they are."""
    if token.startswith("#"):
        return re.search(rf"(row|line|row_number|\[)\D{{0,4}}{token[1:]}\b", text) is not None
    return bool(token) and token in text


def check_refusal(spec: SourceSpec, vintage: Path, change: Change, outcome: Outcome, expected: Refused) -> None:
    """The refusal names source, vintage, file and the row/column/cell, as the issue requires."""
    text = outcome.message + "\n" + outcome.report
    assert errors.UNEXPECTED not in text, f"the parser's safety net caught it, the parser did not:\n{text}"
    assert isinstance(outcome.error, JlacError), f"not a jlac error: {outcome.error!r}"
    if expected.stage != "any":
        assert outcome.stage == expected.stage, f"refused at {outcome.stage}, expected {expected.stage}:\n{text}"
    assert spec.source in text, f"the message does not name the source {spec.source}:\n{text}"
    assert vintage.name in text, f"the message does not name the vintage {vintage.name}:\n{text}"
    assert Path(change.file).name in text, f"the message does not name the file {change.file}:\n{text}"
    if change.where:
        assert any(_names(w, text) for w in change.where), (
            f"the message names none of {sorted(change.where)} (row, column or cell):\n{text}")
    for value in change.values:
        assert value in text, f"the message does not show the value {value!r}:\n{text}"
