"""The SQL models' layers read downwards only: staging reads raw sources (and other staging models), intermediate
reads staging, marts read intermediate and staging, figures read intermediate and marts (and other figures), never
staging. A staging model converted yen at a mart's rate and intermediate models read marts, so a change to a mart's
SQL rebuilt staging (found by a dbt review); this holds the order for the next model. Figures are what the charts,
the site and the claims publish: five read staging's source-shaped tables (AidData's projects, DOTS, DAC2a,
MIDEPLAN), so what a figure showed depended on plumbing no mart documented or tested at its grain (found by a dbt
review). Every layer may read the reviewed seeds jlac loads (seeds.*: curated reference data, each row with its
source URL, such as the statements a figure is compared with); figures do not read staging's country-name map."""

import re

from jlac.transform import PROJECT_DIR

LAYERS = ["staging", "intermediate", "marts", "figures"]
# what a figure may read: the consumer-facing layers, never staging's source-shaped models
FIGURES_READ = {"intermediate", "marts", "figures"}
REF = re.compile(r"""\{\{\s*ref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)\s*\}\}""")
SOURCE = re.compile(r"""\{\{\s*source\(\s*['"]([A-Za-z0-9_]+)['"]\s*,\s*['"]([A-Za-z0-9_]+)['"]\s*\)\s*\}\}""")
# tables jlac loads itself, outside dbt, that any layer may read: the reviewed seeds and the country-name map
JLAC_LOADED = {"seeds", "staging"}


def _models() -> dict[str, tuple[str, str]]:
    """model name -> (layer, SQL text)."""
    models = {}
    for sql in sorted((PROJECT_DIR / "models").rglob("*.sql")):
        layer = sql.relative_to(PROJECT_DIR / "models").parts[0]
        assert layer in LAYERS, f"{sql}: outside the layers {LAYERS}"
        models[sql.stem] = (layer, sql.read_text(encoding="utf-8"))
    return models


def test_every_model_reads_only_the_layers_below_it_or_its_own():
    models = _models()
    upward = []
    for name, (layer, text) in models.items():
        for ref in REF.findall(text):
            assert ref in models, f"{name} reads {ref}, which is no model"
            if LAYERS.index(models[ref][0]) > LAYERS.index(layer):
                upward.append(f"{layer}.{name} reads {models[ref][0]}.{ref}")
    assert upward == []


def test_only_staging_reads_the_raw_tables():
    raw = [f"{layer}.{name} reads source {src}.{table}" for name, (layer, text) in _models().items()
           for src, table in SOURCE.findall(text) if src not in JLAC_LOADED and layer != "staging"]
    assert raw == []


def test_figures_read_marts_and_intermediate_not_staging():
    models = _models()
    below = [f"figures.{name} reads {models[ref][0]}.{ref}" for name, (layer, text) in models.items()
             if layer == "figures" for ref in REF.findall(text) if models[ref][0] not in FIGURES_READ]
    below += [f"figures.{name} reads source {src}.{table}" for name, (layer, text) in models.items()
              if layer == "figures" for src, table in SOURCE.findall(text) if src != "seeds"]
    assert below == []


def test_the_check_sees_a_model_reading_upwards():
    """The patterns find the project's refs, so the two tests above cannot pass by reading nothing."""
    models = _models()
    refs = sum(len(REF.findall(text)) for _, text in models.values())
    sources = sum(len(SOURCE.findall(text)) for _, text in models.values())
    assert refs > 60 and sources > 20, (refs, sources)
    assert REF.findall("FROM {{ ref('fct_fx_annual') }} JOIN {{ref(\"dim_country\")}}") == ["fct_fx_annual",
                                                                                         "dim_country"]
