"""Foundations every layer may use: compute-capability and version parsing, bounded reading of
user files, bounded child processes, text made safe to show. Imports only `tvselect.errors`.
"""
