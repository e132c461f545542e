"""The variant catalog: its model, loading it with every check applied, and reading it from
build-* recipes (build-pytorch, -torchvision, -torchaudio, -vllm). Imports `tvselect.base`, `tvselect.errors`.
"""
