"""The rules engine: one predicate per rule, each returning its coded reason or none, and the
ranking; `select(facts, catalog, options) -> Decision` touches no file, environment variable or
global. Imports `tvselect.base`, `tvselect.facts`, `tvselect.catalog`, `tvselect.errors`.
"""
