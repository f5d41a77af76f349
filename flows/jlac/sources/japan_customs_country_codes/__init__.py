"""The japan-customs-country-codes source; what each file of this folder does: see jlac.sources."""
