"""The shapes a build-* recipe is read in: its override chain (`(PKG.override ARGS).overrideAttrs
(old: ATTRS)`), its outer scope, and the scope at any binding; strings and lists read with the
line they are on. Imports nixscope only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from tvselect.catalog import nixscope as ns
from tvselect.catalog.nix import Located, layout_free
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


def unwrap(value: ns.Value) -> ns.Value:
    node = value.node
    while node.type == "parenthesized_expression" and ns.named(node):
        node = ns.named(node)[0]
    return ns.Value(node, value.scope)


def attrset(value: ns.Value) -> ns.Value | None:
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
    current = unwrap(value)
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
            attrs = attrset(ns.Value(argument, current.scope))
        elif path[-1:] == ["override"] and args is None:
            args = attrset(ns.Value(argument, current.scope))
        else:
            break
        base = function.child_by_field_name("expression")
        inner = function.child_by_field_name("attrpath")
        if base is None or inner is None:
            break
        names = ns.attr_names(inner)
        if len(names) > 1:
            return Final([*ns.dotted(base), *names[:-1]], args, attrs, ns.line(node))
        current = unwrap(ns.Value(base, current.scope))
    return Final(ns.dotted(current.node), args, attrs, ns.line(current.node))


def located(found: tuple[str, int, str] | None, recipe_file: str) -> Located | None:
    if found is None:
        return None
    value, at, file = found
    return Located(value, at, "" if file == recipe_file else file)


def string_member(value: ns.Value | None, name: str, file: str, what: str) -> Located | None:
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
    return located(got, file)


def read_list(value: ns.Value, file: str, what: str) -> tuple[Located, ...]:
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
        items.append(located(got, file))
    return tuple(i for i in items if i is not None)


def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:16]


def normal(node: Node | None, comments: tuple[tuple[int, int], ...] | None = None) -> str:
    """An expression's source without comments and layout; `comments`: its tree's comment ranges."""
    return "" if node is None else layout_free(node, comments).decode("utf-8")


class Found(NamedTuple):
    top: ns.Scope
    top_let: int | None
    body: ns.Value
    named: dict[str, list[tuple[Node, Node]]]
    pin: dict[str, Any]
    comments: tuple[tuple[int, int], ...]
    """The byte ranges of the recipe's comments."""


def top_of(root: Node, file: str, libs: ns.Libs) -> tuple[ns.Scope, ns.Value, int | None]:
    """The recipe's outer scope (its top `let`, under `{ pkgs ? ... }:`) and the expression it builds."""
    scope = ns.Scope({}, file, "", libs, 0)
    kids = ns.named(root)
    node = kids[-1] if kids else root
    while node.type == "function_expression":
        body = node.child_by_field_name("body")
        if body is None:
            break
        node = body
    let = None
    if node.type == "let_expression":
        let = node.id
        scope = ns.scope_of(node, scope)
        body = node.child_by_field_name("body")
        node = body if body is not None else node
    return scope, ns.Value(node, scope), let


def enclosing(node: Node) -> Iterator[str]:
    parent = node.parent
    while parent is not None:
        if parent.type == "binding":
            path = parent.child_by_field_name("attrpath")
            if path is not None:
                yield ns.text(path)
        parent = parent.parent


def scope_at(node: Node, found: Found) -> ns.Scope:
    """The scope at a node: the top scope and every `let` between (function arguments unbound)."""
    lets = []
    parent = node.parent
    while parent is not None:
        if parent.type == "let_expression":
            lets.append(parent)
        parent = parent.parent
    top = found.top
    outer = lets.pop() if lets else None
    if outer is not None and outer.id == found.top_let:
        scope = top  # the recipe's own `let`, already read
    else:
        scope = ns.Scope({}, top.file, top.directory, top.libs, top.imports)
        if outer is not None:
            scope = ns.scope_of(outer, scope)
    for let in reversed(lets):
        scope = ns.scope_of(let, scope)
    return scope
