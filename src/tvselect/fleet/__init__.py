"""Fleets: reading many facts documents, planning the builds a fleet needs, Kubernetes NFD labels.
Imports the engine and everything below it.
"""
