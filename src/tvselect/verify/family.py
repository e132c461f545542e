"""The checks for the rest of the build-* family in a checked environment: TorchAudio and vLLM
import when they are installed, and exactly one torch package is on the path."""

from __future__ import annotations

from tvselect.verify.messages import reason
from tvselect.verify.observations import RawObservations
from tvselect.verify.verdict import ERROR, Check


def family_checks(obs: RawObservations) -> list[Check]:
    """One check per installed TorchAudio or vLLM, and one for the torch packages on the path."""
    checks = []
    for name, module in (("torchaudio", obs.torchaudio), ("vllm", obs.vllm)):
        if module is None:
            continue  # not installed: nothing to check
        if module.error is None:
            found = reason("product-imports", product=name, version=module.version, path=module.path)
        else:
            found = reason("product-import-failed", product=name, error=module.error)
        checks.append(Check(f"{name}-import", module.error is None, ERROR, found))
    copies = obs.torch_copies
    if copies:
        if len(copies) == 1:
            checks.append(Check("one-torch", True, ERROR, reason("one-torch", path=copies[0])))
        else:
            why = reason("two-torches", count=len(copies), paths=", ".join(copies))
            checks.append(Check("one-torch", False, ERROR, why))
    return checks
