"""Reading one build-torchvision recipe (`.flox/pkgs/*.nix`) with a real Nix parser.

`parse_recipe(data, file)` is a pure function from the file's bytes to a `Recipe`: the
values the recipe binds, each with its line, and nothing interpreted yet (recipes.py
does that). tree-sitter is imported here only, so only the paths that read recipes pay
for it. No regular expression ever reads the recipe text: every value comes from the
syntax tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from tvselect.errors import RecipeError

if TYPE_CHECKING:
    from tree_sitter import Node

MAX_RECIPE_BYTES = 256 * 1024
"""Real recipes are under 10 KiB; anything this large is not one."""

# The bindings a recipe's build configuration is read from; all others are ignored.
_NAMES = ("pname", "gpuTargets", "cpuFlags", "gpuArchSM", "gpuArchNum", "cudaPackages", "platforms", "url")
_QUERY = (
    "(binding attrpath: (attrpath) @path expression: (_) @value "
    f"(#any-of? @path {' '.join(chr(34) + n + chr(34) for n in (*_NAMES, 'version'))}))"
)


class Located(NamedTuple):
    """A value read from a recipe, with where it is."""

    value: str
    """The value, e.g. `-mavx2` or `9.0`."""
    line: int
    """Its 1-based line in the recipe."""


class Recipe(NamedTuple):
    """What one recipe binds, as written; None where the recipe does not bind it."""

    file: str
    """The recipe's name in messages, e.g. `pkgs/x.nix` or `main:.flox/pkgs/x.nix`."""
    pname: Located | None
    """The package name of the final derivation (not of the PyTorch it builds)."""
    gpu_targets: tuple[Located, ...] | None
    """`gpuTargets`, with `let` names (gpuArchSM, gpuArchNum) resolved; None: no CUDA target."""
    gpu_targets_line: int
    """Line of the `gpuTargets` binding (0 when absent)."""
    cpu_flags: tuple[Located, ...] | None
    """`cpuFlags`, one compiler flag each; None when the recipe binds none."""
    cuda_packages: Located | None
    """The attribute an overlay sets `cudaPackages` to, e.g. `cudaPackages_13_1`."""
    platforms: tuple[Located, ...] | None
    """`meta.platforms` where the recipe gives a plain list; None where it defers to nixpkgs."""
    nixpkgs: Located | None
    """The nixpkgs revision the recipe pins (from its fetchTarball URL)."""
    torch_from_build_pytorch: bool
    """True when the recipe imports PyTorch from the build-pytorch repository."""
    torch_version: Located | None
    """The PyTorch version an overlay sets (`version = "2.10.0"` inside `overlays`)."""


class _Tools(NamedTuple):
    parser: Any
    query: Any
    cursor_type: Any


_TOOLS: list[_Tools] = []


def _tools() -> _Tools:
    """The parser and query, built once per process (the import and grammar load cost ~20 ms)."""
    if not _TOOLS:
        try:
            import tree_sitter
            import tree_sitter_nix
        except ImportError as exc:
            raise RecipeError(
                f"cannot read Nix recipes: {exc} (install tvselect with its dependencies)"
            ) from None
        language = tree_sitter.Language(tree_sitter_nix.language())
        _TOOLS.append(
            _Tools(tree_sitter.Parser(language), tree_sitter.Query(language, _QUERY), tree_sitter.QueryCursor)
        )
    return _TOOLS[0]


def _check_bytes(data: bytes, file: str) -> None:
    if len(data) > MAX_RECIPE_BYTES:
        raise RecipeError(f"{file}:1: larger than {MAX_RECIPE_BYTES // 1024} KiB, not a recipe")
    if not data.strip():
        raise RecipeError(f"{file}:1: empty, not a recipe")
    if b"\0" in data:
        raise RecipeError(f"{file}:1: binary data, not a Nix recipe")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RecipeError(f"{file}:{line}: not UTF-8 text, not a Nix recipe") from None


def _line(node: Node) -> int:
    return int(node.start_point[0]) + 1


def _first_error(node: Node) -> Node:
    """The first ERROR or MISSING node under `node` (which has_error), found without recursion."""
    while True:
        child = next((c for c in node.children if c.has_error or c.is_missing), None)
        if child is None or child.is_error or child.is_missing:
            return child or node
        node = child


def _text(node: Node) -> str:
    return bytes(node.text or b"").decode("utf-8")


def _string(node: Node, file: str, what: str) -> Located:
    """The value of a plain string literal; an error for anything else (interpolation, a call)."""
    if node.type != "string_expression" or any(
        c.type not in ("string_fragment",) for c in node.named_children
    ):
        raise RecipeError(f"{file}:{_line(node)}: {what} is not a plain string ({_text(node)[:60]!r})")
    return Located("".join(_text(c) for c in node.named_children), _line(node))


def _top_let(root: Node) -> Node | None:
    """The recipe's outer `let` (under `{ pkgs ? ... }:`), whose bindings name the build options."""
    node: Node | None = root
    while node is not None:
        if node.type == "let_expression":
            return node
        kids = [c for c in node.named_children if c.type != "comment"]
        node = kids[-1] if kids and node.type in ("source_code", "function_expression") else None
    return None


def _items(node: Node) -> Iterator[Node]:
    """The elements of a list expression, comments left out."""
    return (c for c in node.named_children if c.type != "comment")


def _list(node: Node, file: str, what: str, lets: dict[str, Node]) -> tuple[Located, ...]:
    """A list of strings; names bound by the outer `let` are resolved to their strings."""
    if node.type != "list_expression":
        raise RecipeError(f"{file}:{_line(node)}: {what} is not a list ({_text(node)[:60]!r})")
    values = []
    for item in _items(node):
        if item.type == "variable_expression" and _text(item) in lets:
            values.append(_string(lets[_text(item)], file, f"{_text(item)} (used in {what})"))
        else:
            values.append(_string(item, file, f"an element of {what}"))
    return tuple(values)


def _platforms(node: Node, file: str) -> tuple[Located, ...] | None:
    # `oldAttrs.meta.platforms or [ ... ]` defers to nixpkgs: the list is only a fallback.
    if node.type != "list_expression":
        return None
    return _list(node, file, "meta.platforms", {})


def _enclosing(node: Node) -> Iterator[str]:
    """The attribute paths of the bindings that enclose `node`, innermost first."""
    parent = node.parent
    while parent is not None:
        if parent.type == "binding":
            path = parent.child_by_field_name("attrpath")
            if path is not None:
                yield _text(path)
        parent = parent.parent


def _pin(url: Located, found: dict[str, Any]) -> None:
    """Note what a fetchTarball URL pins: nixpkgs, or PyTorch from build-pytorch."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.value)
        host = parts.hostname
    except ValueError:  # not a URL at all ('[' reads as a broken IPv6 host): it pins nothing
        return
    segments = [s for s in parts.path.split("/") if s]
    if host != "github.com" or len(segments) != 4 or segments[2] != "archive":
        return
    revision = segments[3].removesuffix(".tar.gz")
    if segments[:2] == ["NixOS", "nixpkgs"]:
        found.setdefault("nixpkgs", Located(revision, url.line))
    elif segments[1] == "build-pytorch":
        found["torch_from_build_pytorch"] = True


def _bindings(root: Node) -> list[tuple[str, Node, Node]]:
    """(name, binding value, binding) for every binding of a name this module reads, in file order."""
    tools = _tools()
    found = []
    for _, captures in tools.cursor_type(tools.query).matches(root):
        path, value = captures["path"][0], captures["value"][0]
        if path.parent is not None:
            found.append((_text(path), value, path.parent))
    return found


def _collect(root: Node, file: str) -> tuple[dict[str, Node], dict[str, Any]]:
    """The outer `let` bindings read (cpuFlags, gpuArch*), and every other value found, by name."""
    let = _top_let(root)
    let_set = next((c for c in let.named_children if c.type == "binding_set"), None) if let else None
    lets: dict[str, Node] = {}
    found: dict[str, Any] = {"torch_from_build_pytorch": False}
    for name, value, binding in _bindings(root):
        at_top = let_set is not None and binding.parent == let_set
        in_let = let_set is not None and let_set.start_byte <= binding.start_byte < let_set.end_byte
        if name in ("gpuArchSM", "gpuArchNum", "cpuFlags") and at_top:
            lets[name] = value
        elif name == "pname" and not in_let:
            found["pname"] = _string(value, file, "pname")
        elif name == "gpuTargets" and "gpu_targets" not in found:
            found["gpu_targets"] = value
        elif name == "platforms" and not in_let:
            found["platforms"] = _platforms(value, file)
        elif name == "cudaPackages" and "overlays" in _enclosing(binding):
            found["cuda_packages"] = Located(_text(value).rpartition(".")[2], _line(value))
        elif name == "version" and {"overlays", "torch"} <= set(_enclosing(binding)):
            found["torch_version"] = _string(value, file, "the PyTorch version")
        elif name == "url" and value.type == "string_expression":
            _pin(_string(value, file, "url"), found)
    return lets, found


def parse_recipe(data: bytes, file: str) -> Recipe:
    """Read a recipe's bindings from its bytes; RecipeError naming FILE:LINE when it cannot be read."""
    _check_bytes(data, file)
    # Nix ends a line (and a `#` comment) at CR as at LF; tree-sitter-nix only at LF.
    tree = _tools().parser.parse(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
    try:
        return _read(tree.root_node, file)
    except RecursionError:  # a guard for any reader of nested nodes: depth is the input's, not ours
        raise RecipeError(f"{file}:1: nested too deeply to be a recipe") from None


def _read(root: Node, file: str) -> Recipe:
    if root.has_error:
        bad = _first_error(root)
        near = f": {bad.type!r} missing" if bad.is_missing else f" near {_text(bad)[:40]!r}"
        raise RecipeError(f"{file}:{_line(bad)}: Nix syntax error{near}")
    lets, found = _collect(root, file)
    targets = found.get("gpu_targets")
    flags = lets.get("cpuFlags")
    return Recipe(
        file=file,
        pname=found.get("pname"),
        gpu_targets=None if targets is None else _list(targets, file, "gpuTargets", lets),
        gpu_targets_line=0 if targets is None else _line(targets),
        cpu_flags=None if flags is None else _list(flags, file, "cpuFlags", {}),
        cuda_packages=found.get("cuda_packages"),
        platforms=found.get("platforms"),
        nixpkgs=found.get("nixpkgs"),
        torch_from_build_pytorch=found["torch_from_build_pytorch"],
        torch_version=found.get("torch_version"),
    )
