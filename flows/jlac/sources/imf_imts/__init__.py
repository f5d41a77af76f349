"""The imf-imts source; what each file of this folder does: see jlac.sources."""
