"""jlac: a DuckDB warehouse of Japan-Latin America & Caribbean economic relations."""

__version__ = "0.1.0"
