"""Reading one build-* recipe (`.flox/pkgs/*.nix`) with a real Nix parser.

`parse_recipe(data, file, libs)` is a pure function from the file's bytes (and those of the
files beside it that it may import) to a `Recipe`: the values the recipe binds, each with its
line, and nothing interpreted yet (recipes.py does that; nixparts.py finds the values). tree-sitter is imported here only, so only the paths that read recipes pay
for it. No regular expression ever reads the recipe text: every value comes from the
syntax tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from tvselect.errors import RecipeError

if TYPE_CHECKING:
    from tree_sitter import Node

MAX_RECIPE_BYTES = 256 * 1024
"""Real recipes are under 10 KiB; anything this large is not one."""

# The bindings a recipe's build configuration is read from; all others are ignored.
_NAMES = (
    "pname",
    "gpuTargets",
    "cpuFlags",
    "cudaPackages",
    "cudaCapabilities",
    "platforms",
    "url",
    "version",
    "torch",
    "overlays",
)
_QUERY = (
    "(binding attrpath: (attrpath) @path expression: (_) @value "
    f"(#any-of? @path {' '.join(chr(34) + n + chr(34) for n in _NAMES)}))"
    "\n(comment) @comment"
)

PRODUCTS = {
    "torch": "pytorch",
    "pytorch": "pytorch",
    "torchvision": "torchvision",
    "torchaudio": "torchaudio",
    "vllm": "vllm",
}
"""The nixpkgs attribute a recipe overrides -> the product it builds."""


class Located(NamedTuple):
    """A value read from a recipe, with where it is."""

    value: str
    """The value, e.g. `-mavx2` or `9.0`."""
    line: int
    """Its 1-based line in the recipe (or in `file`)."""
    file: str = ""
    """The file it was read from when not the recipe itself (an imported `lib/*.nix`)."""


class TorchSource(NamedTuple):
    """The PyTorch a recipe builds or brings, as far as the recipe says."""

    origin: str
    """Where its expression is: `recipe` (the recipe is torch), `let NAME`, `lib/custom-torch.nix`,
    or `build-pytorch REV PATH` for a recipe of another repository."""
    pname: str | None
    """The pname its overrideAttrs sets; None: nixpkgs' own, or not readable without evaluating Nix."""
    gpu_targets: tuple[Located, ...] | None
    """The `gpuTargets` its override passes; None: none, or not readable."""
    digest: str
    """A digest of everything read that makes the derivation: its expression (comments and layout
    left out), the arguments a library is called with, the nixpkgs pin and its overlays."""


class Recipe(NamedTuple):
    """What one recipe binds, as written; None where the recipe does not bind it."""

    file: str
    """The recipe's name in messages, e.g. `pkgs/x.nix` or `main:.flox/pkgs/x.nix`."""
    pname: Located | None
    """The package name of the final derivation (not of the PyTorch it builds)."""
    gpu_targets: tuple[Located, ...] | None
    """The GPU targets: its torch's `gpuTargets`, else nixpkgs' `cudaCapabilities`; None: no CUDA target."""
    gpu_targets_line: int
    """Line of the binding they come from (0 when absent)."""
    cpu_flags: tuple[Located, ...] | None
    """`cpuFlags` (or `cpuISA.flags` from an imported ISA table), one flag each; None: none bound."""
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
    product: Located | None = None
    """The nixpkgs attribute its final derivation overrides (`torch`, `torchvision`, `vllm`...)."""
    version: Located | None = None
    """The version its final overrideAttrs sets (`version = "0.14.1"`); None: the pin's."""
    torch: TorchSource | None = None
    """The PyTorch it builds (product pytorch) or brings; None where the recipe names none."""
    cuda_capabilities: tuple[Located, ...] | None = None
    """nixpkgs' `config.cudaCapabilities`, where set."""


class _Tools(NamedTuple):
    parser: Any
    query: Any
    cursor_type: Any
    comments: Any


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
            _Tools(
                tree_sitter.Parser(language),
                tree_sitter.Query(language, _QUERY),
                tree_sitter.QueryCursor,
                tree_sitter.Query(language, "(comment) @comment"),
            )
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


def parse_tree(data: bytes, file: str) -> Node:
    """The checked syntax tree of a Nix file; RecipeError naming FILE:LINE when it cannot be read."""
    _check_bytes(data, file)
    # Nix ends a line (and a `#` comment) at CR as at LF; tree-sitter-nix only at LF.
    tree = _tools().parser.parse(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
    root: Node = tree.root_node
    if root.has_error:
        bad = _first_error(root)
        near = f": {bad.type!r} missing" if bad.is_missing else f" near {_text(bad)[:40]!r}"
        raise RecipeError(f"{file}:{_line(bad)}: Nix syntax error{near}")
    return root


def bindings_named(root: Node) -> tuple[list[tuple[str, Node, Node]], tuple[tuple[int, int], ...]]:
    """(name, binding value, binding) for every binding of a name the readers use, in file order;
    and the byte ranges of the comments (one pass over the tree for both)."""
    tools = _tools()
    found = []
    comments = []
    for _, captures in tools.cursor_type(tools.query).matches(root):
        if "comment" in captures:
            comment = captures["comment"][0]
            comments.append((comment.start_byte, comment.end_byte))
            continue
        path, value = captures["path"][0], captures["value"][0]
        if path.parent is not None:
            found.append((_text(path), value, path.parent))
    return found, tuple(sorted(comments))


def layout_free(node: Node, comments: tuple[tuple[int, int], ...] | None = None) -> bytes:
    """The source of an expression without its comments and layout: equal for two expressions
    that differ only in those."""
    start, end = node.start_byte, node.end_byte
    data = bytes(node.text or b"")
    if comments is None:  # a node of another tree (an imported file): find its comments
        tools = _tools()
        cursor = tools.cursor_type(tools.comments)
        cursor.set_byte_range(start, end)
        found = cursor.captures(node).get("comment", [])
        comments = tuple(sorted((c.start_byte, c.end_byte) for c in found))
    kept, at = [], 0
    for first, last in comments:
        if last <= start or first >= end:
            continue
        kept.append(data[at : first - start])
        at = max(at, last - start)
    kept.append(data[at:])
    return b" ".join(b"".join(kept).split())


def parse_recipe(
    data: bytes,
    file: str,
    libs: Mapping[str, bytes] | None = None,
    label: str = "",
    parsed: dict[str, Node] | None = None,
) -> Recipe:
    """Read a recipe's bindings from its bytes; RecipeError naming FILE:LINE when it cannot be read.

    `libs` are the other `.nix` files under `.flox/pkgs/` (path -> bytes) that an import may name;
    `label` is how messages name that folder; `parsed` keeps their trees from one recipe to the next.
    """
    from tvselect.catalog.nixparts import read_recipe

    try:
        return read_recipe(parse_tree(data, file), file, libs or {}, label, parsed)
    except RecursionError:  # a guard for any reader of nested nodes: depth is the input's, not ours
        raise RecipeError(f"{file}:1: nested too deeply to be a recipe") from None
