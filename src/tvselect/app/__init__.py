"""The use cases the command line calls: decide (then install, verify, label), list, show, verify, plan, import.

Each takes a frozen request, checks every input before anything acts, and returns a frozen result
for one renderer. Imports every layer below the renderers; never rich, never typer.
"""
