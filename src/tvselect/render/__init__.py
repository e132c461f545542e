"""Renderers: for each result type of app/, its JSON document (`*_json.py`, `document(result)`) and
its text for a person (`*_text.py`, `render(result, stream)`); `emit.py` is the one writer of both,
`diagnostics.py` the one writer of stderr lines. Imports any layer below the command line; rich only
in the text modules and console.py.
"""
