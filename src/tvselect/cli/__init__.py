"""The thin command line: each command gathers options, calls one application function and hands
the frozen result to render.emit. Imports typer at start-up; everything else on the path that needs it.
Imports only tvselect.app, tvselect.render, tvselect.errors and itself (tests/test_seam.py checks).
"""
