"""Names in a recipe, resolved without evaluating Nix: `let` bindings, the arguments a recipe
passes to a file it imports (`import ./lib/custom-torch.nix { inherit smCapability; ... }`),
attribute selection (`(import ./lib/cpu-isa.nix).avx512`, `cpuISA.flags`) and plain strings
with interpolated names. Nothing else is evaluated: what cannot be resolved this way is None.

Imports are followed only to `.nix` files that the source read beside the recipes (under
`.flox/pkgs/`, the same folder or git tree), a bounded number of levels deep: never outside.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, NamedTuple

from tvselect.errors import RecipeError

if TYPE_CHECKING:
    from tree_sitter import Node

MAX_DEPTH = 48
"""How many names one value may go through before it is refused (a cycle, or not a recipe)."""
MAX_IMPORTS = 4
"""How many files deep an import may lead."""


class Libs(NamedTuple):
    """The files an import may name: path under `.flox/pkgs/` -> bytes, parsed on first use."""

    files: Mapping[str, bytes]
    """The `.nix` files read beside the recipes (e.g. `lib/cpu-isa.nix`)."""
    label: str
    """How messages name their folder, e.g. `/x/.flox/pkgs` or `main:.flox/pkgs`."""
    parse: Callable[[bytes, str], Node]
    """Checked bytes -> syntax tree root (nix.parse_tree)."""
    parsed: dict[str, Node]
    """Trees already parsed, by path."""
    reading: list[str]
    """The recipes being read for the torch they build (a recipe importing a sibling), to stop cycles."""


class Scope(NamedTuple):
    """The names visible at a place: each bound to an expression and the scope it is read in."""

    names: Mapping[str, tuple[Node, Scope] | None]
    """Name -> (expression, its scope); None: bound to something not read (e.g. `inherit (x) lib`)."""
    file: str
    """The file these expressions are in (for messages and Located)."""
    directory: str
    """Its folder under `.flox/pkgs/` (`''` for a recipe), for relative imports."""
    libs: Libs | None
    """Where imports are found; None: imports are not followed."""
    imports: int
    """How many imports deep this file is."""


class Value(NamedTuple):
    """An expression with the scope it is read in."""

    node: Node
    scope: Scope


def text(node: Node) -> str:
    """The source text of a node."""
    return bytes(node.text or b"").decode("utf-8")


def line(node: Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_point[0]) + 1


def named(node: Node) -> list[Node]:
    """The named children of a node, comments left out."""
    return [c for c in node.named_children if c.type != "comment"]


def bindings(node: Node) -> Iterator[Node]:
    """The `binding`, `inherit` and `inherit_from` nodes of an attrset or let."""
    for child in node.named_children:
        if child.type == "binding_set":
            yield from child.named_children


def attr_names(path: Node) -> list[str]:
    """The names of an attrpath (`meta.platforms` -> [meta, platforms]); quoted names as written."""
    return [text(a).strip('"') for a in named(path)]


def scope_of(node: Node, parent: Scope) -> Scope:
    """The scope a `let` or recursive attrset opens: its bindings, over the parent's names."""
    names: dict[str, tuple[Node, Scope] | None] = dict(parent.names)
    inner = parent._replace(names=names)
    for binding in bindings(node):
        if binding.type == "binding":
            path = binding.child_by_field_name("attrpath")
            value = binding.child_by_field_name("expression")
            parts = attr_names(path) if path is not None else []
            if len(parts) == 1 and value is not None:
                names[parts[0]] = (value, inner)
        elif binding.type == "inherit":
            for attr in _inherited(binding):
                names[attr] = parent.names.get(attr)
        elif binding.type == "inherit_from":
            for attr in _inherited(binding):
                names[attr] = None
    return inner


def _inherited(node: Node) -> list[str]:
    attrs = node.child_by_field_name("attrs")
    return [] if attrs is None else [text(a) for a in named(attrs)]


def lookup(scope: Scope, name: str) -> Value | None:
    """What a name is bound to, if this module can tell."""
    found = scope.names.get(name)
    return None if found is None else Value(*found)


def member(attrset: Value, name: str) -> Value | None:
    """The binding `name` of an attrset expression (`{ name = ...; }`), in its scope."""
    node = attrset.node
    scope = scope_of(node, attrset.scope) if node.type == "rec_attrset_expression" else attrset.scope
    wanted = name.encode("utf-8")
    for binding in bindings(node):
        if binding.type == "binding":
            path = binding.child_by_field_name("attrpath")
            # A path of one plain name is that name's bytes; anything else is read in full.
            if path is None or (path.text != wanted and b'"' not in (path.text or b"")):
                continue
            value = binding.child_by_field_name("expression")
            if value is not None and attr_names(path) == [name]:
                return Value(value, scope)
        elif binding.type == "inherit" and name in _inherited(binding):
            return lookup(attrset.scope, name)
    return None


def _import_target(apply: Node, scope: Scope) -> tuple[str, Scope] | None:
    """(path under .flox/pkgs, scope) of `import ./PATH`; None when it is not an import of a path."""
    function = apply.child_by_field_name("function")
    argument = apply.child_by_field_name("argument")
    if function is None or argument is None or text(function) != "import":
        return None
    if argument.type != "path_expression" or not text(argument).startswith(("./", "../")):
        if argument.type in ("path_expression", "spath_expression", "string_expression"):
            raise RecipeError(
                f"{scope.file}:{line(argument)}: imports {text(argument)[:60]}, which is not a file "
                "beside the recipes: not followed"
            )
        return None
    target = posixpath.normpath(posixpath.join(scope.directory, text(argument)))
    if target.startswith("../") or target == ".." or posixpath.isabs(target):
        raise RecipeError(
            f"{scope.file}:{line(argument)}: imports {text(argument)}, outside .flox/pkgs: not followed"
        )
    return target, scope


def imported(apply: Node, scope: Scope) -> Value | None:
    """The top expression of the file `import ./lib/x.nix` names, read with the same bounds."""
    found = _import_target(apply, scope)
    if found is None:
        return None
    target, _ = found
    libs = scope.libs
    where = f"{scope.file}:{line(apply)}"
    if libs is None or target not in libs.files:
        raise RecipeError(f"{where}: imports ./{target}, which is not among the files read beside it")
    if scope.imports >= MAX_IMPORTS:
        raise RecipeError(f"{where}: imports more than {MAX_IMPORTS} files deep")
    file = f"{libs.label}/{target}"
    if target not in libs.parsed:
        libs.parsed[target] = libs.parse(libs.files[target], file)
    root = libs.parsed[target]
    kids = named(root)
    if not kids:
        raise RecipeError(f"{file}:1: no expression")
    lib_scope = Scope({}, file, posixpath.dirname(target), libs, scope.imports + 1)
    return Value(kids[-1], lib_scope)


def call(function: Value, argument: Value) -> Value | None:
    """`(ARGS: BODY) { ... }`: the body, with the formals bound to the argument's bindings."""
    node = function.node
    if node.type != "function_expression":
        return None
    body = node.child_by_field_name("body")
    formals = node.child_by_field_name("formals")
    if body is None or formals is None or argument.node.type not in ("attrset_expression",):
        return None
    names: dict[str, tuple[Node, Scope] | None] = {}
    for formal in named(formals):
        if formal.type != "formal":
            continue
        name_node = formal.child_by_field_name("name")
        default = formal.child_by_field_name("default")
        if name_node is None:
            continue
        name = text(name_node)
        given = member(argument, name)
        if given is not None:
            names[name] = (given.node, given.scope)
        elif default is not None:
            names[name] = (default, function.scope)
        else:
            names[name] = None
    return Value(body, function.scope._replace(names=names))


def resolve(value: Value, depth: int = 0) -> Value | None:
    """Follow names, parentheses, selections, imports and calls down to an expression of another kind."""
    if depth > MAX_DEPTH:
        raise RecipeError(f"{value.scope.file}:{line(value.node)}: names lead more than {MAX_DEPTH} deep")
    node, scope = value
    kind = node.type
    if kind == "parenthesized_expression":
        inner = named(node)
        return resolve(Value(inner[0], scope), depth + 1) if inner else None
    if kind == "variable_expression":
        found = lookup(scope, text(node))
        return None if found is None else resolve(found, depth + 1)
    if kind == "select_expression":
        return _select(value, depth)
    if kind == "apply_expression":
        return _apply(value, depth)
    if kind == "let_expression":
        body = node.child_by_field_name("body")
        return None if body is None else resolve(Value(body, scope_of(node, scope)), depth + 1)
    return value


def _select(value: Value, depth: int) -> Value | None:
    base = value.node.child_by_field_name("expression")
    path = value.node.child_by_field_name("attrpath")
    if base is None or path is None or value.node.child_by_field_name("default") is not None:
        return None
    current = resolve(Value(base, value.scope), depth + 1)
    for name in attr_names(path):
        if current is None or current.node.type not in ("attrset_expression", "rec_attrset_expression"):
            return None
        found = member(current, name)
        current = None if found is None else resolve(found, depth + 1)
    return current


def _apply(value: Value, depth: int) -> Value | None:
    lib = imported(value.node, value.scope)
    if lib is not None:
        return resolve(lib, depth + 1)
    function = value.node.child_by_field_name("function")
    argument = value.node.child_by_field_name("argument")
    if function is None or argument is None:
        return None
    if function.type == "apply_expression" and _import_target(function, value.scope) is not None:
        lib = imported(function, value.scope)
        target = resolve(lib, depth + 1) if lib is not None else None
        arg = resolve(Value(argument, value.scope), depth + 1)
        if target is None or arg is None:
            return None
        body = call(target, arg)
        return None if body is None else resolve(body, depth + 1)
    return value


def string(value: Value, depth: int = 0) -> tuple[str, int, str] | None:
    """(text, line, file) of a string the expression comes to; interpolated names are resolved.

    None when it is not a string this module can read without evaluating Nix.
    """
    found = resolve(value, depth)
    if found is not None and found.node.type == "apply_expression":
        return _replace_strings(found, depth + 1)
    if found is None or found.node.type not in ("string_expression", "indented_string_expression"):
        return None
    parts = []
    for child in named(found.node):
        if child.type == "string_fragment":
            parts.append(text(child))
        elif child.type == "interpolation":
            inner = named(child)
            got = string(Value(inner[0], found.scope), depth + 1) if inner else None
            if got is None:
                return None
            parts.append(got[0])
        elif child.type == "escape_sequence":
            parts.append(text(child)[1:])
        else:
            return None
    return "".join(parts), line(found.node), found.scope.file


def _replace_strings(value: Value, depth: int) -> tuple[str, int, str] | None:
    """`builtins.replaceStrings [ FROM... ] [ TO... ] S` of plain strings: the one builtin a recipe
    uses to spell a name (`"9.0"` -> `"90"`), done as Nix does it; None for any other call."""
    args: list[Node] = []
    node = value.node
    while node.type == "apply_expression" and len(args) < 3:
        argument = node.child_by_field_name("argument")
        function = node.child_by_field_name("function")
        if argument is None or function is None:
            return None
        args.insert(0, argument)
        node = function
    if len(args) != 3 or dotted(node) != ["builtins", "replaceStrings"]:
        return None
    lists = [strings(Value(a, value.scope), depth + 1) for a in args[:2]]
    subject = string(Value(args[2], value.scope), depth + 1)
    if lists[0] is None or lists[1] is None or subject is None or len(lists[0]) != len(lists[1]):
        return None
    pairs = [(a[0], b[0]) for a, b in zip(lists[0], lists[1], strict=True)]
    if any(not old for old, _ in pairs):
        return None  # an empty pattern matches between every character: not read
    text, out, at = subject[0], [], 0
    while at < len(text):
        match = next(((old, new) for old, new in pairs if text.startswith(old, at)), None)
        if match is None:
            out.append(text[at])
            at += 1
        else:
            out.append(match[1])
            at += len(match[0])
    return "".join(out), line(value.node), value.scope.file


def strings(value: Value, depth: int = 0) -> tuple[tuple[str, int, str], ...] | None:
    """The strings of a list expression; None when it is no list, or an element is no string."""
    found = resolve(value, depth)
    if found is None or found.node.type != "list_expression":
        return None
    items = []
    for element in named(found.node):
        got = string(Value(element, found.scope), depth + 1)
        if got is None:
            return None
        items.append(got)
    return tuple(items)


def dotted(node: Node) -> list[str]:
    """`a.b.c` of a select expression over a variable (`nixpkgs_pinned.python3Packages.torch`);
    only the selected names over an expression of another kind (`(f x).overrideAttrs`);
    [] for anything else, or for one nested deeper than MAX_DEPTH."""
    tail: list[str] = []
    current: Node | None = node
    for _ in range(MAX_DEPTH):
        if current is None:
            return tail
        if current.type == "variable_expression":
            return [text(current), *tail]
        if current.type == "select_expression":
            path = current.child_by_field_name("attrpath")
            if path is None:
                return []
            tail = [*attr_names(path), *tail]
            current = current.child_by_field_name("expression")
        elif current.type == "parenthesized_expression":
            inner = named(current)
            current = inner[0] if inner else None
        else:
            return tail  # `(EXPR).a.b`: the names selected from an expression of another kind
    return []
