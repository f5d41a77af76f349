"""The aiddata-v2-donor-recipient-year source; what each file of this folder does: see jlac.sources."""
