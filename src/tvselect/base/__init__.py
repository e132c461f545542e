"""Foundations every layer may use: compute-capability and version parsing, bounded reading of
user files, bounded child processes and the ending of all they start (children, reaper), text
made safe to show. Imports only `tvselect.errors` (and each other).
"""
