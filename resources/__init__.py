"""The job and housing directory: HSDS model, search, import and export (issue 3)."""
