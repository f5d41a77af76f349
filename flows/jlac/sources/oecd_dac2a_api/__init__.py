"""The oecd-dac2a-api source; what each file of this folder does: see jlac.sources."""
