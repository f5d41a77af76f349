"""The mof-trade-by-country-top30 source; what each file of this folder does: see jlac.sources."""
