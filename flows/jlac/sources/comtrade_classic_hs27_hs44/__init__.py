"""The comtrade-classic-hs27-hs44 source; what each file of this folder does: see jlac.sources."""
