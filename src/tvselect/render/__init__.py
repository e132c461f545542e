"""Renderers: the JSON documents and the human (rich) text of each result. Imports any layer
below the command line; rich only in the human modules.
"""
