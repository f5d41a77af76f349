"""The aiddata-gcdf2-projects source; what each file of this folder does: see jlac.sources."""
