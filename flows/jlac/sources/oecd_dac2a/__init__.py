"""The oecd-dac2a source; what each file of this folder does: see jlac.sources."""
