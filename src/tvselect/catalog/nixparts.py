"""What a build-* recipe's syntax tree says: the package it overrides, its pname, version, GPU
targets, CPU flags, pins, and the PyTorch it builds or brings. Values are read through
nixscope (names, imports of `lib/*.nix`), never by evaluating Nix and never by pattern.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from tvselect.catalog import nixscope as ns
from tvselect.catalog.nix import Located, Recipe, TorchSource, bindings_named, parse_tree
from tvselect.errors import RecipeError

if TYPE_CHECKING:
    from tree_sitter import Node


class Final(NamedTuple):
    """`(PKG.override ARGS).overrideAttrs (old: ATTRS)`, taken apart."""

    package: list[str]
    """The dotted name of what is overridden, e.g. [nixpkgs_pinned, python3Packages, torch]."""
    args: ns.Value | None
    """ARGS of `.override`, where given as an attrset."""
    attrs: ns.Value | None
    """ATTRS of `.overrideAttrs`, where given as an attrset."""
    line: int
    """Where the expression starts."""


def _unwrap(value: ns.Value) -> ns.Value:
    node = value.node
    while node.type == "parenthesized_expression" and ns.named(node):
        node = ns.named(node)[0]
    return ns.Value(node, value.scope)


def _attrset(value: ns.Value) -> ns.Value | None:
    """An attrset argument, or the attrset body of `old: { ... }`."""
    found = ns.resolve(value)
    if found is not None and found.node.type == "function_expression":
        body = found.node.child_by_field_name("body")
        found = None if body is None else ns.resolve(ns.Value(body, found.scope))
    if found is None or found.node.type not in ("attrset_expression", "rec_attrset_expression"):
        return None
    return found


def final(value: ns.Value) -> Final:
    """Take an override chain apart, outermost call first."""
    args = attrs = None
    current = _unwrap(value)
    for _ in range(8):
        node = current.node
        if node.type != "apply_expression":
            break
        function = node.child_by_field_name("function")
        argument = node.child_by_field_name("argument")
        if function is None or argument is None or function.type != "select_expression":
            break
        path = ns.dotted(function)
        if path[-1:] == ["overrideAttrs"] and attrs is None:
            attrs = _attrset(ns.Value(argument, current.scope))
        elif path[-1:] == ["override"] and args is None:
            args = _attrset(ns.Value(argument, current.scope))
        else:
            break
        base = function.child_by_field_name("expression")
        inner = function.child_by_field_name("attrpath")
        if base is None or inner is None:
            break
        names = ns.attr_names(inner)
        if len(names) > 1:
            return Final([*ns.dotted(base), *names[:-1]], args, attrs, ns.line(node))
        current = _unwrap(ns.Value(base, current.scope))
    return Final(ns.dotted(current.node), args, attrs, ns.line(current.node))


def _located(found: tuple[str, int, str] | None, recipe_file: str) -> Located | None:
    if found is None:
        return None
    value, at, file = found
    return Located(value, at, "" if file == recipe_file else file)


def _string_member(value: ns.Value | None, name: str, file: str, what: str) -> Located | None:
    """The string bound to `name` in an attrset; an error naming the line when it is bound to
    something that is not a string this reader can tell."""
    found = None if value is None else ns.member(value, name)
    if found is None:
        return None
    got = ns.string(found)
    if got is None:
        where = found.scope.file
        raise RecipeError(
            f"{where}:{ns.line(found.node)}: {what} is not a plain string ({ns.text(found.node)[:60]!r})"
        )
    return _located(got, file)


def _list(value: ns.Value, file: str, what: str) -> tuple[Located, ...]:
    found = ns.resolve(value)
    if found is None or found.node.type != "list_expression":
        raise RecipeError(
            f"{value.scope.file}:{ns.line(value.node)}: {what} is not a list ({ns.text(value.node)[:60]!r})"
        )
    items = []
    for element in ns.named(found.node):
        got = ns.string(ns.Value(element, found.scope))
        if got is None:
            name = ns.text(element)
            label = (
                f"{name} (used in {what})"
                if element.type == "variable_expression"
                else f"an element of {what}"
            )
            raise RecipeError(
                f"{found.scope.file}:{ns.line(element)}: {label} is not a plain string ({name[:60]!r})"
            )
        items.append(_located(got, file))
    return tuple(i for i in items if i is not None)


def _tokens(node: Node) -> Iterator[str]:
    """The leaf tokens of an expression, comments left out: its text without layout."""
    if node.type == "comment":
        return
    if node.child_count == 0:
        yield ns.text(node)
        return
    for child in node.children:
        yield from _tokens(child)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:16]


def _normal(node: Node | None) -> str:
    return "" if node is None else " ".join(_tokens(node))


class _Found(NamedTuple):
    top: ns.Scope
    body: ns.Value
    named: dict[str, list[tuple[Node, Node]]]
    pin: dict[str, Any]


def _top(root: Node, file: str, libs: ns.Libs) -> tuple[ns.Scope, ns.Value]:
    """The recipe's outer scope (its top `let`, under `{ pkgs ? ... }:`) and the expression it builds."""
    scope = ns.Scope({}, file, "", libs, 0)
    kids = ns.named(root)
    node = kids[-1] if kids else root
    while node.type == "function_expression":
        body = node.child_by_field_name("body")
        if body is None:
            break
        node = body
    if node.type == "let_expression":
        scope = ns.scope_of(node, scope)
        body = node.child_by_field_name("body")
        node = body if body is not None else node
    return scope, ns.Value(node, scope)


def _enclosing(node: Node) -> Iterator[str]:
    parent = node.parent
    while parent is not None:
        if parent.type == "binding":
            path = parent.child_by_field_name("attrpath")
            if path is not None:
                yield ns.text(path)
        parent = parent.parent


def _scope_at(node: Node, top: ns.Scope) -> ns.Scope:
    """The scope at a node: the top scope and every `let` between (function arguments unbound)."""
    lets = []
    parent = node.parent
    while parent is not None:
        if parent.type == "let_expression":
            lets.append(parent)
        parent = parent.parent
    scope = ns.Scope({}, top.file, top.directory, top.libs, top.imports)
    for let in reversed(lets):
        scope = ns.scope_of(let, scope)
    return scope


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


def _collect(root: Node, top: ns.Scope) -> tuple[dict[str, list[tuple[Node, Node]]], dict[str, Any]]:
    named: dict[str, list[tuple[Node, Node]]] = {}
    pin: dict[str, Any] = {}
    for name, value, binding in bindings_named(root):
        named.setdefault(name, []).append((value, binding))
        if name == "url" and value.type == "string_expression":
            got = ns.string(ns.Value(value, top))
            if got is not None:
                _pin(got[0], got[1], pin)
    return named, pin


def _product(chain: Final, file: str) -> Located:
    attr = chain.package[-1] if chain.package else ""
    from tvselect.catalog.nix import PRODUCTS

    if attr not in PRODUCTS:
        shown = ".".join(chain.package) or "an expression tvselect does not read"
        raise RecipeError(
            f"{file}:{chain.line}: builds {shown}, not a PyTorch, TorchVision, TorchAudio or vLLM package"
        )
    return Located(attr, chain.line)


def _torch_value(found: _Found, chain: Final, product: str) -> tuple[str, ns.Value] | None:
    """(origin, expression) of the torch: the recipe itself, `torch = ...` of its override, or the
    `torch` its package set is overridden with (outside nixpkgs overlays, which change a version)."""
    if product == "pytorch":
        return "recipe", found.body
    given = None if chain.args is None else ns.member(chain.args, "torch")
    if given is None:
        for value, binding in found.named.get("torch", []):
            if "overlays" not in set(_enclosing(binding)):
                given = ns.Value(value, _scope_at(binding, found.top))
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


def _torch(found: _Found, chain: Final, product: str, recipe_pname: Located | None) -> TorchSource | None:
    got = _torch_value(found, chain, product)
    if got is None:
        return None
    origin, value = got
    overlays = "".join(_normal(v) for v, _ in found.named.get("overlays", []))
    pin = found.pin.get("nixpkgs")
    pin_text = pin.value if pin else ""
    outside = _external(value, found.pin)
    if outside is not None:
        return TorchSource(outside, outside.rsplit("/", 1)[-1].removesuffix(".nix"), None, _digest(outside))
    sibling = _sibling(value, found.top)
    if sibling is not None:
        return sibling
    call_args = ""
    if value.node.type == "apply_expression" and ns.text(value.node).startswith("import"):
        argument = value.node.child_by_field_name("argument")
        function = value.node.child_by_field_name("function")
        target = ns.text(function.child_by_field_name("argument") or function) if function else ""
        origin = target.removeprefix("./")
        call_args = _normal(argument)
    resolved = ns.resolve(value)
    if resolved is None:
        return TorchSource(origin, None, None, _digest(origin, call_args, pin_text, overlays))
    chain_t = chain if product == "pytorch" else final(resolved)
    pname = recipe_pname if product == "pytorch" else None
    if product != "pytorch" and chain_t.attrs is not None:
        member = ns.member(chain_t.attrs, "pname")
        pname = None if member is None else _located(ns.string(member), found.top.file)
    targets = None
    gpu = None if chain_t.args is None else ns.member(chain_t.args, "gpuTargets")
    if gpu is not None:
        targets = _list(gpu, found.top.file, "gpuTargets")
    lib_text = _normal(resolved.node) if resolved.scope.file != found.top.file else ""
    digest = _digest(origin, _normal(value.node), lib_text, call_args, pin_text, overlays)
    return TorchSource(origin, pname.value if pname else None, targets, digest)


def _sibling(value: ns.Value, top: ns.Scope) -> TorchSource | None:
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
        other = read_recipe(libs.parse(libs.files[target], file), file, libs.files, libs.label, libs)
    finally:
        libs.reading.pop()
    if other.product is None or PRODUCT_OF.get(other.product.value) != "pytorch" or other.torch is None:
        raise RecipeError(f"{top.file}:{ns.line(node)}: its torch, ./{target}, does not build PyTorch")
    return other.torch._replace(origin=f"recipe {target}")


def _first(found: _Found, name: str) -> tuple[Node, Node] | None:
    for value, binding in found.named.get(name, []):
        return value, binding
    return None


def _cpu_flags(top: ns.Scope, file: str) -> tuple[Located, ...] | None:
    flags = ns.lookup(top, "cpuFlags")
    if flags is not None:
        return _list(flags, file, "cpuFlags")
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
    return _list(member, file, "cpuISA.flags")


def _platforms(found: _Found, chain: Final, file: str) -> tuple[Located, ...] | None:
    meta = None if chain.attrs is None else ns.member(chain.attrs, "meta")
    for value, binding in found.named.get("platforms", []):
        if meta is not None and not (meta.node.start_byte <= binding.start_byte < meta.node.end_byte):
            continue
        resolved = ns.resolve(ns.Value(value, _scope_at(binding, found.top)))
        # `oldAttrs.meta.platforms or [ ... ]` defers to nixpkgs: the list is only a fallback.
        if resolved is None or resolved.node.type != "list_expression":
            return None
        return _list(resolved, file, "meta.platforms")
    return None


def read_recipe(
    root: Node, file: str, files: Mapping[str, bytes], label: str, libs: ns.Libs | None = None
) -> Recipe:
    """What the recipe whose tree is `root` binds; `files` are those an import may name."""
    top, body = _top(root, file, libs or ns.Libs(files, label or "lib", parse_tree, {}, []))
    named, pin = _collect(root, top)
    found = _Found(top, body, named, pin)
    chain = final(body)
    product = _product(chain, file) if chain.package else None
    pname = _string_member(chain.attrs, "pname", file, "pname")
    version = _string_member(chain.attrs, "version", file, "the version")
    torch = _torch(found, chain, PRODUCT_OF.get(product.value, "") if product else "", pname)
    targets, targets_line = _targets(found, torch, file)
    capabilities = _first(found, "cudaCapabilities")
    caps = None if capabilities is None else _list(ns.Value(capabilities[0], top), file, "cudaCapabilities")
    cuda = None
    torch_version = None
    for value, binding in named.get("cudaPackages", []):
        if "overlays" in set(_enclosing(binding)) and cuda is None:
            cuda = Located(ns.text(value).rpartition(".")[2], ns.line(value))
    for value, binding in named.get("version", []):
        if {"overlays", "torch"} <= set(_enclosing(binding)) and torch_version is None:
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


PRODUCT_OF = {"torch": "pytorch", "pytorch": "pytorch"}


def _targets(found: _Found, torch: TorchSource | None, file: str) -> tuple[tuple[Located, ...] | None, int]:
    """The torch's gpuTargets where read, else the first `gpuTargets` bound anywhere."""
    first = _first(found, "gpuTargets")
    if torch is not None and torch.gpu_targets is not None:
        local = first is not None and not any(t.file for t in torch.gpu_targets)
        return torch.gpu_targets, ns.line(first[0]) if local and first is not None else 0
    if first is None:
        return None, 0
    value, binding = first
    return _list(ns.Value(value, _scope_at(binding, found.top)), file, "gpuTargets"), ns.line(value)
