"""Load the parsed batches into the build warehouse: ``raw.<table>`` per source, the country-name map, seeds."""

from __future__ import annotations

from pathlib import Path

import duckdb

from jlac import comments, countries, partitions, quarantine, seeds, sqltext
from jlac.snapshots import Snapshot
from jlac.sources import Source


def load(build: Path, sources: dict[str, Source], snapshots: dict[str, Snapshot | None],
         parquets: dict[str, Path], *, incremental: bool = False) -> dict[str, int]:
    """Create ``raw.<table>`` for each of ``sources`` (from its batch, or empty), then the country-name map
    over every raw table in the build, set aside (``jlac.quarantine``) the rows of these sources whose unknown
    country names no figure reads and load the seed tables; return raw row counts.

    ``incremental``: the build is a copy of the published warehouse and ``sources`` the ones whose snapshots
    changed: its seeds are those of the same code, and only the country names of these sources' naming
    conventions are resolved again."""
    with duckdb.connect(str(build)) as con:
        con.begin()  # one commit for the many small statements (comments, views): three times faster
        partitions.mark_none_new(con)  # an incremental build copies the published one: its partitions are not new
        counts = {n: load_raw(con, sources[n], snapshots.get(n), parquets.get(n)) for n in sources}
        countries.build_name_map_table(con, only_for=sources if incremental else None)
        quarantine.apply(con, sources)  # unknown names no figure reads: set aside before validation
        if not incremental:
            seeds.load_seeds(con)
        con.commit()
    return counts


def load_raw(con: duckdb.DuckDBPyConnection, source: Source, snapshot: Snapshot | None, parquet: Path | None) -> int:
    """Create raw.<table> from the cached batch (or empty, for an optional source without snapshot)."""
    if source.partitioned:  # a view over the partitions: nothing copied
        return partitions.load_view(con, source, snapshot, parquet)
    declared = {c.name for c in source.columns}
    extra = [c for c in ("snapshot_id", "vintage") if c not in declared]  # a source may carry its own
    cols = ", ".join([f'"{c.name}" {c.type}' for c in source.columns] + [f"{c} VARCHAR" for c in extra])
    con.execute(f"CREATE OR REPLACE TABLE {source.raw_table} ({cols})")
    if parquet is not None and snapshot is not None:
        values = {"snapshot_id": snapshot.id, "vintage": snapshot.vintage}
        # a source that carries each row's vintage (one reading its earlier vintages: IMTS, the top-30 file, DAC2a)
        # has rows of older snapshots: their snapshot_id names that one, not the newest (found by a QA pass)
        exprs = {c: "?" for c in extra}
        if "vintage" in declared and "snapshot_id" in extra:
            exprs["snapshot_id"] = f"{sqltext.literal(source.name + '/')} || vintage"
            values.pop("snapshot_id")
        con.execute(
            f"INSERT INTO {source.raw_table} SELECT *{''.join(', ' + exprs[c] for c in extra)} FROM read_parquet(?)",
            [*(values[c] for c in extra if c in values), str(parquet)],
        )
    comments.comment_raw_table(con, source, has_snapshot=snapshot is not None)
    return con.execute(f"SELECT count(*) FROM {source.raw_table}").fetchone()[0]
