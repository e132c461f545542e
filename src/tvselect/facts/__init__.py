"""Facts about a machine: frozen records of what the probe found, and their versioned JSON
document (the one reader for `--facts`, `plan` and fleet input). Imports `tvselect.base`, `tvselect.errors`.
"""
