"""Figure 2: Japanese automakers' plants in Mexico, as labelled points over Mexico's outline.

The outline comes from the ``countryinfo`` package, which ships national boundaries as GeoJSON (Natural
Earth-derived, coarse), so the map is drawn offline. Plant coordinates are approximate (city centroids or
industrial areas; the seed's coord_precision says which). A map is drawn for 2018, the report's view, and
for the latest year, where openings and closures since show up; ``render_as_of`` draws any year.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from countryinfo import CountryInfo  # noqa: E402

from jlac.figures import add_note, save, write_csv  # noqa: E402

REPORT_YEAR = 2018
NEIGHBOURS = ("United States", "Guatemala", "Belize")
COLORS = {"Nissan": "#c3002f", "Honda": "#1f4e79", "Toyota": "#2e7d32", "Mazda": "#6a1b9a", "Hino": "#ef6c00",
          "Isuzu": "#00838f"}
MARKERS = {"operating": "o", "not yet open": "^", "closed": "X"}
LABEL_WEST_OF = -110  # sites west of this longitude (Baja California) are labelled in place
LABEL_X, LABEL_TOP, LABEL_BOTTOM = -95.5, 30.5, 17.5  # the label column, over the Gulf of Mexico


@cache
def outline(country: str) -> list[list[tuple[float, float]]]:
    """The exterior rings (lon, lat) of a country's shipped GeoJSON outline."""
    geometry = CountryInfo(country).geo_json()["features"][0]["geometry"]
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return [[tuple(p) for p in poly[0]] for poly in polygons]

READS = ("figures.fig2_mexico_auto_plants",)  # see figures/__init__


def _color(company: str) -> str:
    return next((c for name, c in COLORS.items() if company.startswith(name)), "#555555")


def plants_as_of(con, year: int):
    """Plants and their status at the end of ``year``: every column of figures.fig2_mexico_auto_plants (the CSV kept
    10 of them, without the publishers and the further sources a row's products and status rest on: a QA pass)."""
    return con.execute(
        "SELECT * EXCLUDE (as_of_year) FROM figures.fig2_mexico_auto_plants WHERE as_of_year = ? "
        "ORDER BY company, plant_id",
        [year],
    ).df()


def draw_map(frame, year: int, outdir: Path, stem: str) -> list[Path]:
    """Mexico's outline with each plant site as a point labelled by company and plant."""
    fig, ax = plt.subplots(figsize=(10, 7), dpi=120)
    for country in NEIGHBOURS:
        for ring in outline(country):
            xs, ys = zip(*ring, strict=True)
            ax.fill(xs, ys, color="#f2f2f2", ec="#cccccc", lw=0.5)
    for ring in outline("Mexico"):
        xs, ys = zip(*ring, strict=True)
        ax.fill(xs, ys, color="#e8e4d8", ec="#7a7a7a", lw=0.8)
    # Several plants share a site (e.g. Celaya autos and transmissions): one point, one stacked label. Most
    # sites crowd the Bajio, so labels sit in a column over the Gulf, in latitude order, with leader lines.
    sites = sorted(frame.groupby(["latitude", "longitude"], sort=False), key=lambda kv: -kv[0][0])
    column = [site for site in sites if site[0][1] > LABEL_WEST_OF]
    slots = {key: LABEL_TOP - i * (LABEL_TOP - LABEL_BOTTOM) / max(len(column) - 1, 1)
             for i, (key, _) in enumerate(column)}
    for (lat, lon), site in sites:
        for _, p in site.iterrows():
            ax.scatter(lon, lat, s=46, marker=MARKERS.get(p["status"], "o"), color=_color(p["company"]),
                       edgecolor="white", linewidth=0.6, zorder=3)
        label = "\n".join(
            f"{p['company'].split(' ')[0]} {p['plant_name'].split('(')[0].strip()}"
            + ("" if p["status"] == "operating" else f" ({p['status']})")
            for _, p in site.iterrows()
        )
        if (lat, lon) in slots:
            ax.annotate(label, (lon, lat), xytext=(LABEL_X, slots[(lat, lon)]), textcoords="data", fontsize=6.3,
                        va="center", zorder=4,
                        arrowprops={"arrowstyle": "-", "color": "#888888", "lw": 0.5, "shrinkB": 2})
        else:
            ax.annotate(label, (lon, lat), xytext=(5, 3), textcoords="offset points", fontsize=6.3, zorder=4)
    shown = set(frame["status"])
    for status, marker in MARKERS.items():  # the statuses this year has (2026 listed "not yet open" for none)
        if status in shown:
            ax.scatter([], [], marker=marker, color="#555555", label=status)
    for company, color in COLORS.items():
        ax.scatter([], [], marker="s", color=color, label=company)
    ax.legend(frameon=False, fontsize=7, loc="lower left")
    ax.set_xlim(-118.5, -80)
    ax.set_ylim(14, 33)
    ax.set_aspect(1 / math.cos(math.radians(23.5)))  # equirectangular, true-ish shape at Mexico's latitude
    ax.set_axis_off()
    ax.set_title(f"Japanese automobile manufacturers in Mexico, as of {year}", loc="left", fontsize=12)
    bottom = add_note(fig, "Plant list: jlac reviewed seed from company and press sources (see the CSV's source_url "
                      "and secondary_source_url); locations approximate. Outline: countryinfo (Natural "
                      "Earth-derived).", fontsize=6.5)
    return save(fig, outdir, stem, rect=(0, bottom, 1, 1))


def render_as_of(con, outdir: Path, year: int) -> list[Path]:
    """CSV and map of the plants as of ``year``."""
    frame = plants_as_of(con, year)
    stem = f"fig2_mexico_auto_plants_{year}"
    written = [write_csv(frame, outdir / f"{stem}.csv")]  # booleans as `jlac sql -f csv` writes them
    if not frame.empty:
        written += draw_map(frame, year, outdir, stem)
    return written


def render(con, outdir: Path) -> list[Path]:
    """Maps for 2018 (the report's view) and the latest year in the table."""
    latest = con.execute("SELECT max(as_of_year) FROM figures.fig2_mexico_auto_plants").fetchall()[0][0]
    written = render_as_of(con, outdir, REPORT_YEAR)
    if latest is not None and latest != REPORT_YEAR:
        written += render_as_of(con, outdir, latest)
    return written
