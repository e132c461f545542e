"""The messages of `tvselect verify`: its check and finding templates, and the Reason that renders them."""

from __future__ import annotations

from collections.abc import Mapping

from tvselect.engine.reasons import Reason, params_of

__all__ = ["TEMPLATES", "Reason", "VerifyReason", "reason"]

TEMPLATES: dict[str, str] = {
    # tvselect verify: the checked interpreter
    "python-ok": "Python {version} at {executable}",
    "python-not-started": "{failure}{stderr}",
    "python-timeout": "{failure}{stderr}",
    "python-signal": "{failure}{stderr}",
    "python-exit-status": "{failure}{stderr}",
    "python-bad-output": "{failure}{stderr}",
    "payload-failed": "the checks themselves failed: {error}",
    # tvselect verify: imports and the version pair
    "torch-imports": "torch {version} from {path}",
    "torch-import-failed": "torch does not import: {error}",
    "torch-missing": "no torch in this interpreter ({error}); name the one that runs your models with --python PATH",
    "torchvision-imports": "torchvision {version} from {path}",
    "torchvision-import-failed": "torchvision does not import: {error}",
    "torchvision-not-tried": "torchvision not tried: torch does not import",
    # tvselect verify: the rest of the build-* family, and one torch
    "product-imports": "{product} {version} from {path}",
    "product-import-failed": "{product} is installed but does not import: {error}",
    "one-torch": "one torch on the path: {path}",
    "two-torches": "{count} torch packages on the path, so two PyTorch builds are in this environment: {paths}; Python imports the first, and packages built against another may fail or misbehave",
    "pair-unreadable": "torch {torch} and torchvision {torchvision}: a version is not understood, so the pair is not checked",
    "pair-in-catalog": "torch {torch} and torchvision {torchvision} belong together: a catalog pair (branch {branches})",
    "pair-by-table": "torch {torch} and torchvision {torchvision} belong together (torchvision's compatibility table); not a catalog pair (the catalog builds {catalog_pairs})",
    "pair-by-rule": "torch {torch} and torchvision {torchvision} belong together (torchvision's rule for torch 2.x, minor + {offset}; newer than its table); not a catalog pair (the catalog builds {catalog_pairs})",
    "pair-no-rule": "torch {torch} and torchvision {torchvision}: no known rule pairs torch {release}; not a catalog pair (the catalog builds {catalog_pairs})",
    "pair-mismatch-table": "torch {torch} and torchvision {torchvision} do not belong together: torch {release} goes with torchvision {wanted} (torchvision's compatibility table); torchvision's compiled ops will not load or will misbehave",
    "pair-mismatch-rule": "torch {torch} and torchvision {torchvision} do not belong together: torch {release} goes with torchvision {wanted} (torchvision's rule for torch 2.x, minor + {offset}; newer than its table); torchvision's compiled ops will not load or will misbehave",
    # tvselect verify: torch's CUDA against the machine's GPUs
    "cuda-ok": "CUDA {built} build; torch sees {seen}",
    "cuda-cpu-build-no-gpu": "no GPU on this machine, and torch is a CPU-only build",
    "cuda-gpus-not-in-facts": "torch sees {sees} GPU(s) that the facts do not list (were the facts simulated?)",
    "cuda-build-without-gpu": "torch is a CUDA {built} build on a machine without a usable GPU: it runs on the CPU only, and a CPU-only build is smaller",
    "cuda-cpu-build-with-gpu": "torch is a CPU-only build (torch.version.cuda is None); this machine has {have}",
    "cuda-sees-no-gpu": "torch.cuda.is_available() is {available} and torch sees no GPU, but this machine has {have}: {why}{errors}",
    "cuda-count-differs": "torch sees {sees} GPU(s) ({seen}), the probe found {found}: {have}",
    "unseen-all-hidden": "CUDA_VISIBLE_DEVICES is set to '' in the checked environment, which hides every GPU",
    "unseen-visible-devices": "CUDA_VISIBLE_DEVICES={value} in the checked environment",
    "unseen-excluded": "GPU {index}: {why}",
    "unseen-driver": "the driver may be missing from this environment, or too old for this CUDA runtime",
    "gpu-arch-exact": "{gpu}: torch carries {arch} code, an exact match",
    "gpu-arch-compatible": "{gpu}: no {sm} code; {arch} code runs on it by binary compatibility (same major, lower minor), but an exact build may be faster",
    "gpu-arch-ptx": "{gpu}: no cubin runs on it; {arch} PTX is JIT-compiled by the driver (PTX runs on any GPU of capability {cap} or newer): slow first start, and the driver must be as new as the CUDA that built it",
    "gpu-arch-none": "{gpu}: torch's arch list ({arch_list}) has no code that runs on it{why}{not_understood}; CUDA kernels will fail with 'no kernel image is available for execution on the device'",
    # tvselect verify: the driver against torch's CUDA
    "driver-cuda-unreadable": "torch.version.cuda is {built}, not a version: not checked",
    "driver-unknown-cuda-started": "driver version unknown; torch started CUDA {cuda}, so the driver accepts it",
    "driver-unknown": "driver version unknown: CUDA {cuda} support not checked",
    "driver-cuda-newer": "the driver supports CUDA {have}, newer than torch's CUDA {cuda}",
    "driver-cuda-same": "the driver supports CUDA {have}; torch is built with CUDA {cuda}",
    "driver-cuda-minor-compatible": "torch's CUDA {cuda} runs on this CUDA {have} driver through minor-version compatibility (same major); PTX newer than the driver cannot be JIT-compiled",
    "driver-cuda-older": "torch is built with CUDA {cuda}, but the driver supports CUDA only up to {have}: it needs a driver for CUDA {major}.x (driver {need} or newer)",
    "driver-cuda-older-no-minimum": "torch is built with CUDA {cuda}, but the driver supports CUDA only up to {have}: it needs a driver for CUDA {major}.x",
    "driver-no-minimum": "driver {driver}: the catalog has no minimum for CUDA {cuda}: not checked",
    "driver-meets-minimum": "driver {driver} runs CUDA {major}.x builds (the catalog's minimum is {need}); torch is built with CUDA {cuda}",
    "driver-below-minimum": "driver {driver} is too old for torch's CUDA {cuda}: it needs {need} or newer",
    # tvselect verify: the CPU
    "cpu-capability-ok": "torch runs {capability} CPU kernels on this {arch} CPU",
    "cpu-capability-unreported": "torch does not report it ({why})",
    "cpu-capability-contradicts-facts": "torch runs {capability} CPU kernels, but the facts say this CPU lacks {lacking} (from {source}): were the facts of another machine?",
    "cpu-capability-below-best": "torch runs {capability} CPU kernels, but this CPU can run {better} ones: the build lacks them, or ATEN_CPU_CAPABILITY holds them back",
    "matmul-ok": "a 2x2 matmul on the CPU gives the right answer",
    "matmul-failed": "a 2x2 matmul on the CPU failed: {error}",
    "matmul-wrong": "a 2x2 matmul on the CPU gave {got}, expected {expected}",
    # tvselect verify: smoke tests of torchvision's ops on each device
    "smoke-ok": "{nms}; {conv}",
    "smoke-nms-wrong": "{nms}",
    "smoke-conv-wrong": "{conv}",
    "smoke-both-wrong": "{nms}; {conv}",
    "nms-matches": "nms matches {reference}",
    "nms-not-run": "nms not run (torchvision did not import)",
    "nms-failed": "nms failed: {error}",
    "nms-differs": "nms kept {kept}, {reference} is {wanted}",
    "conv-matches": "conv2d matches {reference} result (max abs diff {diff})",
    "conv-failed": "conv2d failed: {error}",
    "conv-wrong-shape": "conv2d gave a result of the wrong shape",
    "conv-differs": "conv2d differs from {reference} result by {diff} (tolerance {tolerance})",
    # tvselect verify: which catalog variant is installed
    "variant-expected": "installed build is {package}: {choose}",
    "variant-expected-isa-unknown": "installed build is {installed}, as tvselect would choose; the CPU ISA it was compiled for is unknown (torch does not report it; one of {isas}), tvselect would choose {isa}",
    "variant-other": "installed build is {installed}; it runs, but {choose}",
    "variant-not-in-catalog": "not a build-torchvision variant: {why}; {choose}",
    "would-choose": "tvselect would choose {package} (branch {branch})",
    "would-choose-nothing": "tvselect chooses no variant here",
    "match-no-arch": "torch reports no GPU architecture, so which build it is cannot be told",
    "match-arch-not-built": "no catalog variant is built for {arch}",
    "match-many-archs": "it carries code for {count} architectures ({archs}); build-torchvision variants carry one",
    "match-no-branch": "no catalog branch builds {what}",
    "match-no-branch-arch": "no catalog branch builds {what}; {why}",
    "match-no-variant": "no catalog variant of branch {branches} for {where}",
}


class VerifyReason(Reason):
    """A Reason whose code is one of verify's."""

    __slots__ = ()

    def templates(self) -> Mapping[str, str]:
        return TEMPLATES


def reason(code: str, **params: object) -> Reason:
    """Make one of verify's Reasons; parameters are turned into strings."""
    return VerifyReason(code, params_of(params))
