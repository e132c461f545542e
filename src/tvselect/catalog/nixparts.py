"""What a build-* recipe's syntax tree says: the package it overrides, its pname, version, GPU
targets, CPU flags, pins, and the PyTorch it builds or brings. Values are read through
nixscope (names, imports of `lib/*.nix`), never by evaluating Nix and never by pattern.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tvselect.catalog import nixscope as ns
from tvselect.catalog.nix import PRODUCTS, Located, Recipe, TorchSource, bindings_named, parse_tree
from tvselect.catalog.nixshape import (
    Final,
    Found,
    enclosing,
    final,
    read_list,
    scope_at,
    string_member,
    top_of,
)
from tvselect.catalog.nixtorch import torch_of
from tvselect.errors import RecipeError

if TYPE_CHECKING:
    from tree_sitter import Node


def _pin(url: str, at: int, found: dict[str, Any]) -> None:
    """Note what a fetchTarball URL pins: nixpkgs, or PyTorch from build-pytorch."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # not a URL at all ('[' reads as a broken IPv6 host): it pins nothing
        return
    segments = [s for s in parts.path.split("/") if s]
    if host != "github.com" or len(segments) != 4 or segments[2] != "archive":
        return
    revision = segments[3].removesuffix(".tar.gz")
    if segments[:2] == ["NixOS", "nixpkgs"]:
        found.setdefault("nixpkgs", Located(revision, at))
    elif segments[1] == "build-pytorch":
        found["build_pytorch"] = revision


def _collect(
    root: Node, top: ns.Scope
) -> tuple[dict[str, list[tuple[Node, Node]]], dict[str, Any], tuple[tuple[int, int], ...]]:
    named: dict[str, list[tuple[Node, Node]]] = {}
    pin: dict[str, Any] = {}
    found, comments = bindings_named(root)
    for name, value, binding in found:
        named.setdefault(name, []).append((value, binding))
        if name == "url" and value.type == "string_expression":
            got = ns.string(ns.Value(value, top))
            if got is not None:
                _pin(got[0], got[1], pin)
    return named, pin, comments


def _product(chain: Final, file: str) -> Located:
    attr = chain.package[-1] if chain.package else ""
    from tvselect.catalog.nix import PRODUCTS

    if attr not in PRODUCTS:
        shown = ".".join(chain.package) or "an expression tvselect does not read"
        raise RecipeError(
            f"{file}:{chain.line}: builds {shown}, not a PyTorch, TorchVision, TorchAudio or vLLM package"
        )
    return Located(attr, chain.line)


def _first(found: Found, name: str) -> tuple[Node, Node] | None:
    for value, binding in found.named.get(name, []):
        return value, binding
    return None


def _cpu_flags(top: ns.Scope, file: str) -> tuple[Located, ...] | None:
    flags = ns.lookup(top, "cpuFlags")
    if flags is not None:
        return read_list(flags, file, "cpuFlags")
    isa = ns.lookup(top, "cpuISA")
    if isa is None:
        return None
    record = ns.resolve(isa)
    member = (
        None if record is None or record.node.type != "attrset_expression" else ns.member(record, "flags")
    )
    if member is None:
        raise RecipeError(
            f"{file}:{ns.line(isa.node)}: cpuISA is not a record with flags ({ns.text(isa.node)[:60]!r})"
        )
    return read_list(member, file, "cpuISA.flags")


def _platforms(found: Found, chain: Final, file: str) -> tuple[Located, ...] | None:
    meta = None if chain.attrs is None else ns.member(chain.attrs, "meta")
    for value, binding in found.named.get("platforms", []):
        if meta is not None and not (meta.node.start_byte <= binding.start_byte < meta.node.end_byte):
            continue
        resolved = ns.resolve(ns.Value(value, scope_at(binding, found)))
        # `oldAttrs.meta.platforms or [ ... ]` defers to nixpkgs: the list is only a fallback.
        if resolved is None or resolved.node.type != "list_expression":
            return None
        return read_list(resolved, file, "meta.platforms")
    return None


def read_recipe(
    root: Node,
    file: str,
    files: Mapping[str, bytes],
    label: str,
    parsed: dict[str, Node] | None = None,
    libs: ns.Libs | None = None,
) -> Recipe:
    """What the recipe whose tree is `root` binds; `files` are those an import may name."""
    libs = libs or ns.Libs(files, label or "lib", parse_tree, {} if parsed is None else parsed, [])
    top, body, let = top_of(root, file, libs)
    named, pin, comments = _collect(root, top)
    found = Found(top, let, body, named, pin, comments)
    chain = final(body)
    product = _product(chain, file) if chain.package else None
    pname = string_member(chain.attrs, "pname", file, "pname")
    version = string_member(chain.attrs, "version", file, "the version")
    torch = torch_of(found, chain, PRODUCTS.get(product.value, "") if product else "", pname, _read_sibling)
    targets, targets_line = _targets(found, torch, file)
    capabilities = _first(found, "cudaCapabilities")
    caps = (
        None if capabilities is None else read_list(ns.Value(capabilities[0], top), file, "cudaCapabilities")
    )
    cuda = None
    torch_version = None
    for value, binding in named.get("cudaPackages", []):
        if "overlays" in set(enclosing(binding)) and cuda is None:
            cuda = Located(ns.text(value).rpartition(".")[2], ns.line(value))
    for value, binding in named.get("version", []):
        if {"overlays", "torch"} <= set(enclosing(binding)) and torch_version is None:
            got = ns.string(ns.Value(value, top))
            if got is None:
                raise RecipeError(f"{file}:{ns.line(value)}: the PyTorch version is not a plain string")
            torch_version = Located(got[0], got[1])
    return Recipe(
        file=file,
        pname=pname,
        gpu_targets=targets if targets is not None else caps,
        gpu_targets_line=targets_line if targets is not None else (caps[0].line if caps else 0),
        cpu_flags=_cpu_flags(top, file),
        cuda_packages=cuda,
        platforms=_platforms(found, chain, file),
        nixpkgs=pin.get("nixpkgs"),
        torch_from_build_pytorch="build_pytorch" in pin,
        torch_version=torch_version,
        product=product,
        version=version,
        torch=torch,
        cuda_capabilities=caps,
    )


def _read_sibling(root: Node, file: str, libs: ns.Libs) -> Recipe:
    return read_recipe(root, file, libs.files, libs.label, libs=libs)


def _targets(found: Found, torch: TorchSource | None, file: str) -> tuple[tuple[Located, ...] | None, int]:
    """The torch's gpuTargets where read, else the first `gpuTargets` bound anywhere."""
    first = _first(found, "gpuTargets")
    if torch is not None and torch.gpu_targets is not None:
        local = first is not None and not any(t.file for t in torch.gpu_targets)
        return torch.gpu_targets, ns.line(first[0]) if local and first is not None else 0
    if first is None:
        return None, 0
    value, binding = first
    return read_list(ns.Value(value, scope_at(binding, found)), file, "gpuTargets"), ns.line(value)
