"""The mof-hs9-imports source; what each file of this folder does: see jlac.sources."""
