"""The coded Reason every layer gives, the templates of the engine's own reasons, and rendering
that never raises.

A layer that owns other messages (verify/messages.py, app/published.py) keeps their templates
and subclasses Reason to look its codes up there; a code found nowhere still renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

TEMPLATES: dict[str, str] = {
    # why a variant cannot run here
    "isa-wrong-arch": "{isa} is an {isa_arch} build; this CPU is {cpu_arch}",
    "isa-missing-features": "this CPU lacks {missing}, which the {isa} build needs",
    "cpu-unknown": "the CPU's features could not be read ({why}), so no {isa} build can be shown to run",
    "gpu-major-differs": "{sm} code does not run on GPU {index} ({cap}): a cubin never runs across major versions",
    "gpu-minor-too-new": "{sm} code does not run on GPU {index} ({cap}): it needs {need} or newer",
    "gpu-tegra-exact": "{sm} code does not run on GPU {index} ({cap}): Tegra GPUs run only code built for their exact capability",
    "driver-too-old": "CUDA {cuda} builds need NVIDIA driver {need} or newer; this machine has {have}",
    "driver-cuda-too-old": "built with CUDA {cuda}; the driver supports CUDA up to {have}",
    "platform-other": "built for {platforms}; this machine is {system}",
    # why a variant was not considered
    "not-requested-branch": "only branch {requested} was asked for",
    "cuda-build-cpu-only-asked": "a CUDA build, and CPU-only was asked for",
    "cuda-build-no-gpu": "a CUDA build, and this machine has no usable GPU",
    "cpu-build-gpu-present": "a CPU-only build, and this machine has a GPU (--cpu-only chooses among these)",
    # why a runnable variant lost to the chosen one
    "lost-exact": "{winner} is an exact match for the GPU; {sm} is only compatible",
    "lost-newer-sm": "{winner} is a newer compatible architecture than {sm}",
    "lost-branch": "branch {winner} is preferred to {branch}",
    "lost-isa": "{isa} ranks below {winner} for the {workload} workload",
    "lost-older-cuda": "CUDA {winner} is newer than CUDA {cuda}",
    "lost-isa-other-workload": "{isa} is the build for another workload, not {workload}",
    # why the chosen variant was chosen
    "chose-exact": "the GPU ({caps}) has an exact {sm} build",
    "chose-compatible": "{sm} is the newest build whose code runs on compute capability {caps} (same major version, lower minor)",
    "chose-compatible-all": "no build matches every GPU ({caps}) exactly; {sm} code runs on all of them",
    "chose-cpu-no-gpu": "no usable GPU ({why}): CPU-only build",
    "chose-cpu-asked": "CPU-only build, as asked",
    "chose-branch-asked": "branch {branch}, as asked",
    "chose-branch-preferred": "branch {branch} is the most preferred branch that has it ({order})",
    "chose-isa": "{label} is the best this CPU runs for the {workload} workload",
    "chose-cuda-minor": "CUDA {cuda} runs on this driver (CUDA {have}) through CUDA's minor-version compatibility: a CUDA {major}.x build needs driver {need} or newer",
    "exact-held-back": "the exact {sm} build is on branch {branch}, which needs NVIDIA driver {need} or newer; this machine has {have}",
    "workload-isa-missing": "no {missing} on this CPU: {label} build instead",
    "workload-isa-unbuilt": "no {better} build for this GPU on branch {branch}: {label} build instead",
    "workload-isa-unbuilt-cpu": "no {better} CPU-only build on branch {branch}: {label} build instead",
    # when nothing runs
    "no-build-for-capability": "no build exists for compute capability {cap}; the build-torchvision README's Extending the Matrix section says how to add one",
    "no-build-for-tegra": "no build exists for compute capability {cap} (Tegra runs only exact builds); the build-torchvision README's Extending the Matrix section says how to add one",
    "no-common-variant": "no single variant runs on all GPUs ({caps}); each GPU's own variant is listed among the alternatives",
    "no-candidate-kind": "{where} builds no {kind} variant, and only {kind} variants are candidates here ({because})",
    "cpu-arch-unknown": "the CPU could not be identified ({why}), so no build can be shown to run",
    "no-variant-for-arch": "no variant exists for {arch} CPUs (builds exist for x86_64 and aarch64 only)",
    "gpu-unidentified": "{why}; tvselect cannot tell which GPU build runs on it, so it chooses none: pass --gpu X.Y with its compute capability (https://developer.nvidia.com/cuda-gpus), or --cpu-only for a CPU-only build",
    # alternatives
    "alt-cpu-only": "the CPU-only build that runs here (pass --cpu-only to choose it)",
    "alt-other-branch": "runs here, on branch {branch}, which was not asked for",
    "alt-per-gpu": "serves GPU {index} ({cap}) alone",
    # warnings
    "driver-unchecked": "the NVIDIA driver version is unknown, so the branch's driver minimum ({need}) was not checked",
    "gpu-excluded": "GPU {index} ({name}) does not count: {why}",
    "tegra-cuda-unchecked": "this board's CUDA version is unknown (no Jetson Linux release tvselect knows was read), so whether its CUDA driver runs this CUDA {cuda} build was not checked",
    "machine-needs": "the GPU was identified by its PCI device ID ({why}); before this build can use it, this machine needs: {needs}",
}


class _Lenient(dict[str, str]):
    """Template parameters; a missing one renders as its own placeholder."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(code: str, params: dict[str, str], templates: Mapping[str, str] = TEMPLATES) -> str:
    """The text of a reason; an unknown code or a missing parameter still renders."""
    template = templates.get(code)
    if template is None:
        return code + (": " + ", ".join(f"{k}={v}" for k, v in params.items()) if params else "")
    try:
        return template.format_map(_Lenient(params))
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


class Reason(NamedTuple):
    """One reason, as a template code and its parameters; its text is rendered on demand."""

    code: str
    """Key into the templates of the layer that gave it (TEMPLATES for the engine's)."""
    params: tuple[tuple[str, str], ...] = ()
    """Template parameters, as (name, value) pairs."""

    @property
    def text(self) -> str:
        """The reason in words."""
        return render(self.code, dict(self.params), self.templates())

    def templates(self) -> Mapping[str, str]:
        """The templates the code is looked up in; a layer that owns other messages overrides this."""
        return TEMPLATES


def params_of(params: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """Template parameters as a Reason holds them: (name, value) pairs of strings."""
    return tuple(zip(params, map(str, params.values()), strict=True))


def reason(code: str, **params: object) -> Reason:
    """Make one of the engine's Reasons; parameters are turned into strings."""
    return Reason(code, params_of(params))
