"""The use cases the command line calls: decide (then install, verify, label), probe, list, show, verify,
plan, plan --cover, catalog import, lint and diff.

Each takes a frozen request, checks every input before anything acts, and returns a frozen result
for render.emit. Imports every layer below the renderers; never rich, never typer.
"""
