"""The PyTorch a build-* recipe builds or brings: where its expression is (the recipe itself, a
`let`, a `lib/*.nix` file, a sibling recipe, another repository), its pname and GPU targets, and a
digest of what makes the derivation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tvselect.catalog import nixscope as ns
from tvselect.catalog.nix import PRODUCTS, Located, Recipe, TorchSource
from tvselect.catalog.nixshape import (
    Final,
    Found,
    digest,
    enclosing,
    final,
    located,
    normal,
    read_list,
    scope_at,
)
from tvselect.errors import RecipeError

if TYPE_CHECKING:
    from tree_sitter import Node

Reader = Callable[["Node", str, ns.Libs], Recipe]
"""Reads another recipe of the same folder (nixparts.read_recipe)."""


def _torch_value(found: Found, chain: Final, product: str) -> tuple[str, ns.Value] | None:
    """(origin, expression) of the torch: the recipe itself, `torch = ...` of its override, or the
    `torch` its package set is overridden with (outside nixpkgs overlays, which change a version)."""
    if product == "pytorch":
        return "recipe", found.body
    given = None if chain.args is None else ns.member(chain.args, "torch")
    if given is None:
        for value, binding in found.named.get("torch", []):
            if "overlays" not in set(enclosing(binding)):
                given = ns.Value(value, scope_at(binding, found))
                break
    if given is None:
        return None
    origin = "override"
    for _ in range(ns.MAX_DEPTH):
        node = given.node
        if node.type == "parenthesized_expression" and ns.named(node):
            given = ns.Value(ns.named(node)[0], given.scope)
        elif node.type == "variable_expression" and ns.lookup(given.scope, ns.text(node)) is not None:
            origin = f"let {ns.text(node)}"
            given = ns.lookup(given.scope, ns.text(node)) or given
        else:
            break
    return origin, given


def _external(value: ns.Value, pin: Mapping[str, Any]) -> str | None:
    """`import "${src}/.flox/pkgs/X.nix" {}`: where that recipe is, when it is another repository's."""
    node = value.node
    while node.type == "apply_expression":
        function = node.child_by_field_name("function")
        argument = node.child_by_field_name("argument")
        if function is not None and argument is not None and ns.text(function) == "import":
            if argument.type == "string_expression":
                fragments = [ns.text(c) for c in ns.named(argument) if c.type == "string_fragment"]
                where = "".join(fragments).lstrip("/")
                return f"build-pytorch {pin.get('build_pytorch', 'unknown')} {where}"
            return None
        node = function if function is not None else node
        if function is None:
            break
    return None


def torch_of(
    found: Found, chain: Final, product: str, recipe_pname: Located | None, read: Reader
) -> TorchSource | None:
    """The PyTorch the recipe builds (product pytorch) or brings, as far as it can be read."""
    got = _torch_value(found, chain, product)
    if got is None:
        return None
    origin, value = got
    overlays = "".join(normal(v, found.comments) for v, _ in found.named.get("overlays", []))
    pin = found.pin.get("nixpkgs")
    pin_text = pin.value if pin else ""
    outside = _external(value, found.pin)
    if outside is not None:
        return TorchSource(outside, outside.rsplit("/", 1)[-1].removesuffix(".nix"), None, digest(outside))
    sibling = _sibling(value, found.top, read)
    if sibling is not None:
        return sibling
    call_args = ""
    if value.node.type == "apply_expression" and ns.text(value.node).startswith("import"):
        argument = value.node.child_by_field_name("argument")
        function = value.node.child_by_field_name("function")
        target = ns.text(function.child_by_field_name("argument") or function) if function else ""
        origin = target.removeprefix("./")
        call_args = normal(argument, found.comments)
    resolved = ns.resolve(value)
    if resolved is None:
        return TorchSource(origin, None, None, digest(origin, call_args, pin_text, overlays))
    chain_t = chain if product == "pytorch" else final(resolved)
    pname = recipe_pname if product == "pytorch" else None
    if product != "pytorch" and chain_t.attrs is not None:
        member = ns.member(chain_t.attrs, "pname")
        pname = None if member is None else located(ns.string(member), found.top.file)
    targets = None
    gpu = None if chain_t.args is None else ns.member(chain_t.args, "gpuTargets")
    if gpu is not None:
        targets = read_list(gpu, found.top.file, "gpuTargets")
    lib_text = normal(resolved.node) if resolved.scope.file != found.top.file else ""
    mine = found.comments if value.scope.file == found.top.file else None
    made = digest(origin, normal(value.node, mine), lib_text, call_args, pin_text, overlays)
    return TorchSource(origin, pname.value if pname else None, targets, made)


def _sibling(value: ns.Value, top: ns.Scope, read: Reader) -> TorchSource | None:
    """`import ./pytorch-....nix {}`: the torch another recipe of the same folder builds."""
    node = value.node
    function = node.child_by_field_name("function") if node.type == "apply_expression" else None
    if function is None or function.type != "apply_expression":
        return None
    found = ns._import_target(function, value.scope)
    libs = top.libs
    if found is None or "/" in found[0] or libs is None or found[0] not in libs.files:
        return None
    target = found[0]
    if target in libs.reading or len(libs.reading) >= ns.MAX_IMPORTS:
        raise RecipeError(f"{top.file}:{ns.line(node)}: imports ./{target}, which imports it back")
    file = f"{libs.label}/{target}"
    libs.reading.append(target)
    try:
        if target not in libs.parsed:
            libs.parsed[target] = libs.parse(libs.files[target], file)
        other = read(libs.parsed[target], file, libs)
    finally:
        libs.reading.pop()
    if other.product is None or PRODUCTS.get(other.product.value) != "pytorch" or other.torch is None:
        raise RecipeError(f"{top.file}:{ns.line(node)}: its torch, ./{target}, does not build PyTorch")
    return other.torch._replace(origin=f"recipe {target}")
