"""The oecd-crs-api source; what each file of this folder does: see jlac.sources."""
