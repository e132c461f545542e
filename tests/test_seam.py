"""The output seam (render.emit) and the layering of the command line, read from the source."""

from __future__ import annotations

import ast
import importlib
import io
from pathlib import Path

import pytest
from cli_helpers import run
from hypothesis import given
from hypothesis import strategies as st

import tvselect
from tvselect.render.emit import FORMATS, RENDERERS, emit

PACKAGE = Path(tvselect.__file__).parent
CLI_MAY_IMPORT = ("tvselect.app", "tvselect.render", "tvselect.errors", "tvselect.cli")


def _tvselect_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of tvselect in a file, function-local and TYPE_CHECKING ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            module = node.module or ""
            # `from tvselect import x` imports the module tvselect.x when x is one.
            if module == "tvselect":
                found += [(node.lineno, f"tvselect.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, module))
    return [(line, name) for line, name in found if name.split(".")[0] == "tvselect"]


@pytest.mark.parametrize("path", sorted((PACKAGE / "cli").glob("*.py")), ids=lambda p: p.name)
def test_the_cli_imports_only_app_render_errors_and_itself(path: Path) -> None:
    allowed = {"tvselect.__version__"}
    wrong = [
        f"{path.name}:{line}: {name}"
        for line, name in _tvselect_imports(path)
        if name not in allowed and not any(name == p or name.startswith(p + ".") for p in CLI_MAY_IMPORT)
    ]
    assert wrong == []


def test_the_import_check_sees_function_local_imports(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text(
        "def f():\n    from tvselect.catalog.diff import diff_catalogs\n    import tvselect.fleet\n"
    )
    assert _tvselect_imports(source) == [(2, "tvselect.catalog.diff"), (3, "tvselect.fleet")]


@pytest.mark.parametrize("kind", sorted(RENDERERS), ids=lambda k: k.rsplit(".", 1)[1])
def test_every_registered_result_type_and_renderer_exists(kind: str) -> None:
    module, _, name = kind.rpartition(".")
    assert isinstance(getattr(importlib.import_module(module), name), type)
    for reference in RENDERERS[kind]:
        if reference is not None:
            where, _, function = reference.partition(":")
            assert callable(getattr(importlib.import_module(f"tvselect.render.{where}"), function))


def test_a_result_with_no_renderer_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="no renderer is registered for int"):
        emit(3, "json", io.StringIO())


def test_a_json_only_result_is_json_in_every_format() -> None:
    from tvselect.app.catalog import ImportResult

    outs = []
    for fmt in FORMATS:
        out = io.StringIO()
        emit(ImportResult({"generator": "x", "b": [1]}, (), ()), fmt, out)
        outs.append(out.getvalue())
    assert outs == ['{\n  "generator": "x",\n  "b": [\n    1\n  ]\n}\n'] * len(FORMATS)


COMMANDS = [
    pytest.param(["--gpu", "9.0"], id="main"),
    pytest.param(["probe", "--gpu", "9.0"], id="probe"),
    pytest.param(["catalog", "diff", "builtin", "builtin"], id="catalog-diff"),
]


@pytest.mark.parametrize("args", COMMANDS)
def test_format_json_is_json_and_format_text_is_the_default(args: list[str]) -> None:
    as_json, formatted = run(*args, "--json"), run(*args, "--format", "json")
    assert (as_json.code, as_json.stdout) == (formatted.code, formatted.stdout)
    assert as_json.json()
    plain, text = run(*args), run(*args, "--format", "text")
    assert (plain.code, plain.stdout) == (text.code, text.stdout)
    assert plain.stdout != as_json.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(["--json", "--format", "text"], "--json and --format text disagree", id="disagree"),
        pytest.param(["list", "--format", "xml"], "'xml': choose from text, json", id="unknown"),
        pytest.param(["-q", "--format", "text"], "leave out --format", id="quiet"),
    ],
)
def test_format_refuses_what_cannot_be_done(args: list[str], says: str) -> None:
    done = run(*args)
    assert done.code == 2 and done.stdout == ""
    assert says in done.stderr


def test_catalog_import_checks_o_before_it_reads_any_source(tmp_path: Path) -> None:
    mine = tmp_path / "notes.json"
    mine.write_text('{"mine": true}\n')
    done = run("catalog", "import", str(tmp_path / "no-such-checkout"), "-o", str(mine))
    assert done.code == 2 and done.stdout == ""
    assert f"-o {mine}: exists and is not a catalog tvselect wrote; not replaced" in done.stderr
    assert mine.read_text() == '{"mine": true}\n'


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=40) | st.dictionaries(st.text(), inner, max_size=40),
    max_leaves=400,
)


@given(_JSON)
def test_json_written_in_pieces_is_the_one_json_text(value: object) -> None:
    import io

    from tvselect.render.emit import json_text, write_json

    out = io.StringIO()
    write_json(value, out)
    assert out.getvalue() == json_text(value)


def test_a_large_document_is_written_in_several_pieces() -> None:
    from tvselect.render.emit import json_text, write_json

    class Counting(io.StringIO):
        writes = 0

        def write(self, s: str) -> int:
            self.writes += 1
            return super().write(s)

    value = [{"package": f"p{n}", "n": n} for n in range(5000)]
    out = Counting()
    write_json(value, out)
    assert out.getvalue() == json_text(value) and out.writes > 1
