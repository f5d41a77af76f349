"""The mof-hs9-country source; what each file of this folder does: see jlac.sources."""
