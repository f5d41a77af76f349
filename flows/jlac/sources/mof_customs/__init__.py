"""The mof-customs source; what each file of this folder does: see jlac.sources."""
