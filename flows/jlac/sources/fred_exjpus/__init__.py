"""The fred-exjpus source; what each file of this folder does: see jlac.sources."""
