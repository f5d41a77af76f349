"""The mideplan-cooperation source; what each file of this folder does: see jlac.sources."""
