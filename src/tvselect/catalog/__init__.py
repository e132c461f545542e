"""The variant catalog: its model, loading it with every check applied, and reading it from
build-torchvision recipes. Imports `tvselect.base`, `tvselect.errors`.
"""
