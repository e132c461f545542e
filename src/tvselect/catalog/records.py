"""The catalog's records: ISAs, GPU architectures, branches, variants, and the catalog itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from tvselect.base.capability import Capability


class Isa(NamedTuple):
    """A CPU instruction-set target that variants are compiled for."""

    name: str
    """Catalog key, e.g. `avx512bf16`."""
    label: str
    """How a person writes it, e.g. `AVX-512 BF16`."""
    arch: str
    """The only CPU architecture it runs on: `x86_64` or `aarch64`."""
    flags: tuple[str, ...]
    """The compiler flags the variant is built with."""
    needs: frozenset[str]
    """CPU features, as the Linux kernel names them, that those flags need."""


class GpuArch(NamedTuple):
    """A GPU architecture that variants carry cubins for (never PTX)."""

    name: str
    """Catalog key, e.g. `sm90`."""
    capability: Capability
    """The compute capability the cubins are built for."""
    family: str
    """The architecture's family name, e.g. `Hopper`."""
    examples: tuple[str, ...]
    """Example GPUs of exactly this compute capability."""


class Branch(NamedTuple):
    """One branch of build-torchvision: a TorchVision, PyTorch and CUDA combination."""

    name: str
    """Branch name, e.g. `cuda-12_9`."""
    torchvision: str | None
    """TorchVision version, None where not known (or not the same for all its variants)."""
    pytorch: str | None
    """PyTorch version, None where not known (or not the same for all its variants)."""
    cuda: str | None
    """CUDA toolkit version its CUDA builds use unless a variant says otherwise; None: none."""
    cudnn: str | None
    """cuDNN version, None where not recorded."""
    python: str
    """Python version of the builds."""
    nixpkgs: str | None
    """The nixpkgs pin, None where not known (or not the same for all its variants)."""
    commit: str | None = None
    """The commit of the recipes it was read from (a git branch); None where not recorded."""


class TorchBuild(NamedTuple):
    """The PyTorch a package brings (or is), as read from its recipe: enough to tell whether two
    packages put the same torch derivation into an environment."""

    origin: str
    """Where its expression is: `recipe` (the package is torch), `let customPytorch`,
    `lib/custom-torch.nix`, `recipe NAME.nix` (a sibling recipe), `build-pytorch REV PATH`."""
    pname: str | None
    """Its pname; None: nixpkgs' own, or not readable without evaluating Nix."""
    version: str | None
    """Its PyTorch version; None where not known."""
    nixpkgs: str | None
    """The nixpkgs revision it is built from; None: unpinned (the environment's nixpkgs)."""
    cuda: str | None
    """The CUDA it is built with; None: none."""
    gpu_targets: tuple[str, ...]
    """The compute capabilities it carries cubins for (empty: a CPU build)."""
    cpu_flags: tuple[str, ...]
    """The compiler flags it is built with."""
    overlays: tuple[str, ...]
    """What the recipe's nixpkgs overlays change that it reads (`cudaPackages_12_8`, `torch 2.10.0`)."""
    digest: str
    """A digest of its expression, library arguments, pin and overlays (comments and layout left out)."""

    @property
    def key(self) -> tuple[object, ...]:
        """Equal for two packages only when they bring the same torch derivation, as far as read."""
        return (self.digest, self.pname, self.nixpkgs, self.gpu_targets, self.cpu_flags, self.overlays)


PRODUCTS = ("pytorch", "torchvision", "torchaudio", "vllm")
"""The products of the build-* family, in the order answers list them."""
PRODUCT_LABELS = {
    "pytorch": "PyTorch",
    "torchvision": "TorchVision",
    "torchaudio": "TorchAudio",
    "vllm": "vLLM",
}


class Variant(NamedTuple):
    """One buildable package of one branch."""

    package: str
    """Package name, e.g. `torchvision-python313-cuda12_9-sm90-avx512`."""
    branch: str
    """The branch it is built on."""
    gpu_arch: str | None
    """The GPU architecture it carries cubins for; None for CPU-only builds."""
    cpu_isa: str
    """The CPU instruction set it is compiled for."""
    cuda: str | None = None
    """The CUDA toolkit it is built with; None for builds without CUDA."""
    platforms: tuple[str, ...] = ()
    """The Nix systems it is built for, e.g. `x86_64-linux`, `aarch64-darwin`."""
    torchvision: str | None = None
    """TorchVision version; None where not known."""
    pytorch: str | None = None
    """PyTorch version; None where not known."""
    nixpkgs: str | None = None
    """The nixpkgs revision it is built from; None where not known."""
    min_driver: tuple[int, ...] | None = None
    """Minimum NVIDIA driver for its CUDA (data/cuda.json); None for builds without CUDA."""
    min_driver_text: str | None = None
    """That minimum as written."""
    min_driver_note: str | None = None
    """Why that minimum."""
    recipe: str | None = None
    """The recipe it was read from, where it was read from one."""
    product: str = "torchvision"
    """What it builds: `pytorch`, `torchvision`, `torchaudio` or `vllm` (schema 3; before, torchvision)."""
    product_version: str | None = None
    """The version of what it builds; None where not known."""
    python: str | None = None
    """Its Python version (schema 3; before, its branch's)."""
    torch: TorchBuild | None = None
    """The PyTorch it brings (schema 3, read from recipes); None where not known."""

    @property
    def cuda_major(self) -> int | None:
        """Major version of its CUDA toolkit; None for builds without CUDA."""
        return int(self.cuda.split(".")[0]) if self.cuda else None


class Catalog(NamedTuple):
    """Everything tvselect knows about the variants; read-only once loaded."""

    source: str
    """Where it was loaded from, for messages."""
    branches: Mapping[str, Branch]
    """Branches by name."""
    branch_preference: tuple[str, ...]
    """Branch order of preference when the caller names none."""
    isas: Mapping[str, Isa]
    """CPU ISAs by name."""
    workloads: Mapping[str, Mapping[str, tuple[str, ...]]]
    """For each workload, for each CPU architecture, ISAs in order of preference."""
    workload_descriptions: Mapping[str, str]
    """One line per workload."""
    gpu_archs: Mapping[str, GpuArch]
    """GPU architectures by name."""
    tegra_capabilities: frozenset[Capability]
    """Compute capabilities of Tegra GPUs, which run only exact-capability cubins."""
    known_capabilities: frozenset[Capability]
    """Every compute capability NVIDIA has shipped, to reject ones that cannot exist."""
    variants: tuple[Variant, ...]
    """All variants, in catalog order."""
    branches_of_package: Mapping[str, tuple[str, ...]]
    """For each package name, the branches that build a package of that name (index_packages)."""
    positions_by_gpu_arch: Mapping[str | None, tuple[int, ...]]
    """For each GPU architecture (None: CPU-only), the positions of its variants (index_gpu_archs)."""
    cuda_examples: tuple[Variant, ...] = ()
    """One variant of each CUDA version the catalog builds with, for the driver rules (index_cudas)."""

    def with_variants(self, variants: tuple[Variant, ...]) -> Catalog:
        """This catalog with other variants (and the indexes that go with them)."""
        return self._replace(
            variants=variants,
            branches_of_package=index_packages(variants),
            positions_by_gpu_arch=index_gpu_archs(variants),
            cuda_examples=index_cudas(variants),
        )

    def variant(self, package: str, branch: str | None = None) -> tuple[Variant, ...]:
        """Variants of that package name (one per branch that builds it)."""
        return tuple(v for v in self.variants if v.package == package and branch in (None, v.branch))


def index_packages(variants: tuple[Variant, ...]) -> dict[str, tuple[str, ...]]:
    """For each package name, the branches that build a package of that name."""
    index: dict[str, list[str]] = {}
    for variant in variants:
        index.setdefault(variant.package, []).append(variant.branch)
    return {name: tuple(branches) for name, branches in index.items()}


def index_gpu_archs(variants: tuple[Variant, ...]) -> dict[str | None, tuple[int, ...]]:
    """For each GPU architecture (None: CPU-only), the positions of its variants in `variants`."""
    index: dict[str | None, list[int]] = {}
    for position, variant in enumerate(variants):
        index.setdefault(variant.gpu_arch, []).append(position)
    return {arch: tuple(positions) for arch, positions in index.items()}


def index_cudas(variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
    """The first variant of each CUDA version (its driver minimum is that of every other)."""
    first: dict[str, Variant] = {}
    for variant in variants:
        if variant.cuda is not None:
            first.setdefault(variant.cuda, variant)
    return tuple(first.values())
