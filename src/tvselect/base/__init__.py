"""Foundations every layer may use: the Capability value and version parsing, bounded reading of
user files, the one loader of the shipped tables (data/*.json) and the hardware facts among them,
bounded child processes and the ending of all they start (children, reaper), text made safe to
show. Imports only `tvselect.errors` (and each other).
"""
