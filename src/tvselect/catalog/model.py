"""The variant catalog: its data model, and loading it with every check applied."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from tvselect.base.capability import Capability, parse_capability, parse_version
from tvselect.base.hardware import known_capabilities, tegra_capabilities
from tvselect.catalog.records import PRODUCTS as PRODUCTS

# The records live in records.py; they are imported from here by the rest of tvselect.
from tvselect.catalog.records import Branch as Branch
from tvselect.catalog.records import Catalog as Catalog
from tvselect.catalog.records import GpuArch as GpuArch
from tvselect.catalog.records import Isa as Isa
from tvselect.catalog.records import TorchBuild as TorchBuild
from tvselect.catalog.records import Variant as Variant
from tvselect.catalog.records import index_cudas as index_cudas
from tvselect.catalog.records import index_gpu_archs as index_gpu_archs
from tvselect.catalog.records import index_packages as index_packages
from tvselect.errors import CatalogError

SCHEMA_VERSION = 3
READ_VERSIONS = (1, 2, 3)
CPU_ARCHES = ("x86_64", "aarch64")
BUILTIN_NAME = "tvselect/data/variants.json"


MAX_CATALOG_BYTES = 16 * 1024 * 1024


def load_catalog(path: str | None = None) -> Catalog:
    """Load and check the built-in catalog, or the file at `path`.

    Raises CatalogError with a one-line message naming the file and the entry.
    """
    if path is None:
        from tvselect.base.shipped import shipped_table

        return parse_document(shipped_table("variants"), BUILTIN_NAME)
    else:
        source = path
        from tvselect.base.textfile import decode_text, read_user_file

        data = read_user_file(
            path, f"catalog {source}", MAX_CATALOG_BYTES, None, CatalogError, stdin_allowed=False
        )
        text = decode_text(data, f"catalog {source}", "JSON", CatalogError)
    return parse_catalog(text, source)


def parse_catalog(text: str, source: str) -> Catalog:
    """Parse and check catalog JSON text; `source` names it in messages."""
    from tvselect.base.textfile import load_json

    label = f"catalog {source}"
    if not text.strip():
        raise CatalogError(f"{label}: empty")
    return _Checker(source).catalog(load_json(text, label, CatalogError))


def parse_document(document: object, source: str) -> Catalog:
    """Check an already decoded catalog document (e.g. one just read from recipes)."""
    return _Checker(source).catalog(document)


_PACKAGE = re.compile(r"torchvision-python(\d+)-(?:cpu|cuda(\d+)_(\d+)-(sm\d+))-([a-z0-9_]+)")


class _Checker:
    """Builds the Catalog from decoded JSON, failing on the first inconsistency."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.version = SCHEMA_VERSION
        self.minimums: dict[str, tuple[Any, Any, Any]] = {}

    def fail(self, where: str, problem: str) -> CatalogError:
        return CatalogError(f"catalog {self.source}: {where}: {problem}")

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, found {type(value).__name__}")
        return value

    def field_(self, entry: dict[str, Any], key: str, where: str, kind: type, *, null: bool = False) -> Any:
        if key not in entry:
            raise self.fail(where, f"missing field '{key}'")
        value = entry[key]
        if value is None and null:
            return None
        if not isinstance(value, kind) or (kind is str and not value):
            wanted = {str: "a non-empty string", list: "a list", dict: "an object", int: "an integer"}
            raise self.fail(where, f"field '{key}' must be {wanted.get(kind, kind.__name__)}")
        return value

    def strings(self, entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        items = self.field_(entry, key, where, list)
        if not all(isinstance(item, str) and item for item in items):
            raise self.fail(where, f"field '{key}' must be a list of non-empty strings")
        return tuple(items)

    def needs(self, entry: dict[str, Any], where: str) -> frozenset[str]:
        needs = frozenset(self.strings(entry, "needs", where))
        if not needs and self.strings(entry, "flags", where):
            # Compile flags that need no CPU feature would make the build run on every CPU of its
            # arch, however old; only a build without such flags (a baseline) needs nothing.
            raise self.fail(where, "field 'needs' is empty; list the CPU features its compile flags require")
        return needs

    def capability(self, text: Any, where: str) -> Capability:
        cap = parse_capability(text) if isinstance(text, str) else None
        if cap is None:
            raise self.fail(where, f"'{text}' is not a compute capability like '8.6'")
        return cap

    def capabilities(
        self, top: dict[str, Any], key: str, hardware: Callable[[], frozenset[Capability]]
    ) -> frozenset[Capability]:
        """The compute capabilities the document lists under `key`; where it lists none (the shipped
        catalog), those of data/hardware.json."""
        if key not in top:
            return hardware()
        return frozenset(self.capability(c, key) for c in self.strings(top, key, "top level"))

    def catalog(self, data: Any) -> Catalog:
        top = self.obj(data, "top level")
        self.version = self.schema_version(top)
        branches = self.branches(self.field_(top, "branches", "top level", dict))
        preference = self.strings(top, "branch_preference", "top level")
        if sorted(preference) != sorted(branches):
            raise self.fail("branch_preference", "must list every branch exactly once")
        isas = self.isas(self.field_(top, "isas", "top level", dict))
        workloads, descriptions = self.workloads(self.field_(top, "workloads", "top level", dict), isas)
        gpu_archs = self.gpu_archs(self.field_(top, "gpu_archs", "top level", dict))
        tegra = self.capabilities(top, "tegra_compute_capabilities", tegra_capabilities)
        known = self.capabilities(top, "known_compute_capabilities", known_capabilities)
        for arch in gpu_archs.values():
            if arch.capability not in known:
                raise self.fail(f"gpu_archs.{arch.name}", "capability is not in known_compute_capabilities")
        variants = self.variants(self.field_(top, "variants", "top level", list), branches, isas, gpu_archs)
        return Catalog(
            source=self.source,
            branches=branches,
            branch_preference=preference,
            isas=isas,
            workloads=workloads,
            workload_descriptions=descriptions,
            gpu_archs=gpu_archs,
            tegra_capabilities=tegra,
            known_capabilities=known,
            variants=variants,
            branches_of_package=index_packages(variants),
            positions_by_gpu_arch=index_gpu_archs(variants),
            cuda_examples=index_cudas(variants),
        )

    def schema_version(self, top: dict[str, Any]) -> int:
        version = top.get("schema_version")
        if version not in READ_VERSIONS or isinstance(version, bool):
            raise self.fail(
                "schema_version",
                f"expected {SCHEMA_VERSION} (or 1, 2), found {json.dumps(version)[:40]}"
                if "schema_version" in top
                else "missing",
            )
        return int(version)

    def branches(self, raw: dict[str, Any]) -> dict[str, Branch]:
        if not raw:
            raise self.fail("branches", "no branch defined")
        result = {}
        for name, value in raw.items():
            where = f"branches.{name}"
            entry = self.obj(value, where)
            result[name] = Branch(
                name=name,
                torchvision=self.field_(entry, "torchvision", where, str, null=True),
                pytorch=self.field_(entry, "pytorch", where, str, null=self.version > 1),
                cuda=self.cuda(entry, where, null=self.version > 1),
                cudnn=self.field_(entry, "cudnn", where, str, null=True),
                python=self.field_(entry, "python", where, str),
                nixpkgs=self.field_(entry, "nixpkgs", where, str, null=True),
                commit=self.field_(entry, "commit", where, str, null=True) if "commit" in entry else None,
            )
        return result

    def cuda(self, entry: dict[str, Any], where: str, *, null: bool) -> str | None:
        cuda: str | None = self.field_(entry, "cuda", where, str, null=null)
        if cuda is not None and len(parse_version(cuda) or ()) < 2:
            raise self.fail(where, f"cuda '{cuda}' is not a version like '12.9' (major.minor)")
        return cuda

    def isas(self, raw: dict[str, Any]) -> dict[str, Isa]:
        result = {}
        for name, value in raw.items():
            where = f"isas.{name}"
            entry = self.obj(value, where)
            arch = self.field_(entry, "arch", where, str)
            if arch not in CPU_ARCHES:
                raise self.fail(where, f"arch '{arch}' is not one of {', '.join(CPU_ARCHES)}")
            result[name] = Isa(
                name=name,
                label=self.field_(entry, "label", where, str),
                arch=arch,
                flags=self.strings(entry, "flags", where),
                needs=self.needs(entry, where),
            )
        return result

    def workloads(
        self, raw: dict[str, Any], isas: Mapping[str, Isa]
    ) -> tuple[dict[str, dict[str, tuple[str, ...]]], dict[str, str]]:
        orders: dict[str, dict[str, tuple[str, ...]]] = {}
        descriptions = {}
        for name, value in raw.items():
            where = f"workloads.{name}"
            entry = self.obj(value, where)
            descriptions[name] = self.field_(entry, "description", where, str)
            orders[name] = {}
            for arch in CPU_ARCHES:
                order = self.strings(entry, arch, where)
                for isa in order:
                    if isa not in isas:
                        raise self.fail(where, f"unknown ISA '{isa}'")
                    if isas[isa].arch != arch:
                        raise self.fail(where, f"ISA '{isa}' is not an {arch} ISA")
                orders[name][arch] = order
        if "general" not in orders:
            raise self.fail("workloads", "the 'general' workload is missing")
        return orders, descriptions

    def gpu_archs(self, raw: dict[str, Any]) -> dict[str, GpuArch]:
        result = {}
        for name, value in raw.items():
            where = f"gpu_archs.{name}"
            entry = self.obj(value, where)
            cap = self.capability(self.field_(entry, "compute_capability", where, str), where)
            if name != cap.sm:
                raise self.fail(where, f"name does not match compute capability {cap}")
            result[name] = GpuArch(
                name=name,
                capability=cap,
                family=self.field_(entry, "family", where, str),
                examples=self.strings(entry, "examples", where),
            )
        return result

    def variants(
        self,
        raw: list[Any],
        branches: Mapping[str, Branch],
        isas: Mapping[str, Isa],
        gpu_archs: Mapping[str, GpuArch],
    ) -> tuple[Variant, ...]:
        if not raw:
            raise self.fail("variants", "no variant defined")
        seen: set[tuple[str, str]] = set()
        result = []
        for position, value in enumerate(raw):
            where = f"variants[{position}]"
            entry = self.obj(value, where)
            package = self.field_(entry, "package", where, str)
            where = f"variants[{position}] ({package})"
            branch = self.field_(entry, "branch", where, str)
            gpu_arch = self.field_(entry, "gpu_arch", where, str, null=True)
            isa = self.field_(entry, "cpu_isa", where, str)
            if branch not in branches:
                raise self.fail(where, f"unknown branch '{branch}'")
            if isa not in isas:
                raise self.fail(where, f"unknown cpu_isa '{isa}'")
            if gpu_arch is not None and gpu_arch not in gpu_archs:
                raise self.fail(where, f"unknown gpu_arch '{gpu_arch}'")
            if self.version == 1:
                self.check_name(package, branches[branch], gpu_arch, isa, where)
            if (branch, package) in seen:
                raise self.fail(where, f"listed twice on branch '{branch}'")
            seen.add((branch, package))
            result.append(self.details(package, gpu_arch, entry, branches[branch], isas[isa], where))
        return tuple(result)

    def details(
        self, package: str, gpu_arch: str | None, entry: dict[str, Any], branch: Branch, isa: Isa, where: str
    ) -> Variant:
        """The variant with its version 2 fields; where absent, the branch's (and its ISA's platform)."""
        get = entry.get
        cuda = self.cuda(entry, where, null=True) if "cuda" in entry else branch.cuda
        if gpu_arch is None and "cuda" not in entry:
            cuda = None
        if gpu_arch is not None and cuda is None:
            raise self.fail(where, "a CUDA build (gpu_arch is set) needs a cuda version")
        platforms = (
            self.strings(entry, "platforms", where) if "platforms" in entry else (f"{isa.arch}-linux",)
        )
        minimum = self.minimum(cuda, where)
        return Variant(
            package=package,
            branch=branch.name,
            gpu_arch=gpu_arch,
            cpu_isa=isa.name,
            cuda=cuda,
            platforms=platforms,
            torchvision=self.field_(entry, "torchvision", where, str, null=True)
            if "torchvision" in entry
            else branch.torchvision,
            pytorch=self.field_(entry, "pytorch", where, str, null=True)
            if "pytorch" in entry
            else branch.pytorch,
            nixpkgs=self.field_(entry, "nixpkgs", where, str, null=True)
            if "nixpkgs" in entry
            else branch.nixpkgs,
            min_driver=minimum[0],
            min_driver_text=minimum[1],
            min_driver_note=minimum[2],
            recipe=get("recipe") if isinstance(get("recipe"), str) else None,
            **self.product_fields(entry, branch, where),
        )

    def product_fields(self, entry: dict[str, Any], branch: Branch, where: str) -> dict[str, Any]:
        """Schema 3: product, its version, Python and the torch it brings; before, TorchVision's."""
        torchvision = entry.get("torchvision", branch.torchvision)
        if self.version < 3:
            return {"product": "torchvision", "product_version": torchvision, "python": branch.python}
        product = self.field_(entry, "product", where, str)
        if product not in PRODUCTS:
            raise self.fail(where, f"product '{product}' is not one of {', '.join(PRODUCTS)}")
        raw = entry.get("torch")
        return {
            "product": product,
            "product_version": self.field_(entry, "product_version", where, str, null=True),
            "python": self.field_(entry, "python", where, str),
            "torch": None if raw is None else self.torch(self.obj(raw, f"{where}.torch"), f"{where}.torch"),
        }

    def torch(self, entry: dict[str, Any], where: str) -> TorchBuild:
        text = {
            key: self.field_(entry, key, where, str, null=True)
            for key in ("pname", "version", "nixpkgs", "cuda")
        }
        return TorchBuild(
            origin=self.field_(entry, "origin", where, str),
            digest=self.field_(entry, "digest", where, str),
            gpu_targets=self.strings(entry, "gpu_targets", where),
            cpu_flags=self.strings(entry, "cpu_flags", where),
            overlays=self.strings(entry, "overlays", where),
            **text,
        )

    def minimum(self, cuda: str | None, where: str) -> tuple[Any, Any, Any]:
        """The driver minimum for builds of CUDA `cuda` (data/cuda.json), looked up once per version."""
        from tvselect.catalog.tables import driver_minimum

        if cuda is None:
            return None, None, None
        known = self.minimums.get(cuda)
        if known is None:
            try:
                known = self.minimums[cuda] = driver_minimum(cuda)
            except CatalogError as exc:
                raise self.fail(where, str(exc)) from None
        return known

    def check_name(self, package: str, branch: Branch, gpu_arch: str | None, isa: str, where: str) -> None:
        match = _PACKAGE.fullmatch(package)
        if match is None:
            raise self.fail(where, "name is not torchvision-pythonNNN-(cpu|cudaX_Y-smNN)-ISA")
        python_tag, cuda_major, cuda_minor, sm, name_isa = match.groups()
        if python_tag != branch.python.replace(".", ""):
            raise self.fail(where, f"name says python{python_tag}, branch builds Python {branch.python}")
        if name_isa != isa:
            raise self.fail(where, f"name says ISA '{name_isa}', cpu_isa is '{isa}'")
        if sm != gpu_arch:
            raise self.fail(where, f"name says GPU arch '{sm or 'none'}', gpu_arch is '{gpu_arch or 'none'}'")
        if cuda_major is not None and branch.cuda is not None:
            major, minor = branch.cuda.split(".")[:2]
            if (cuda_major, cuda_minor) != (major, minor):
                raise self.fail(
                    where, f"name says CUDA {cuda_major}.{cuda_minor}, branch builds CUDA {branch.cuda}"
                )
