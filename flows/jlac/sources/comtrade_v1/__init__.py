"""The comtrade-v1 source; what each file of this folder does: see jlac.sources."""
