"""The aiddata-gcdf3-projects source; what each file of this folder does: see jlac.sources."""
