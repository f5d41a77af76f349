"""Chart renderers, one module per figure: ``render(con, outdir) -> list[Path]``."""
