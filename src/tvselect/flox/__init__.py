"""flox, the only program tvselect installs with: the org check, the argument list, running it
bounded. Imports `tvselect.base`, `tvselect.catalog`, `tvselect.errors`.
"""
