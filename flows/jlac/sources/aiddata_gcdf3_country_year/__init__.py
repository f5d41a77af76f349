"""The aiddata-gcdf3-country-year source; what each file of this folder does: see jlac.sources."""
