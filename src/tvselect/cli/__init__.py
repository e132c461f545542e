"""The thin command line: each command gathers options, calls one application function and hands
the frozen result to one renderer. Imports typer at start-up; everything else on the path that needs it.
"""
