"""Each layer owns its messages: the templates of the codes it gives, one shared Reason, rendering that never raises."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

import tvselect
from tvselect.engine.reasons import Reason

PACKAGE = Path(tvselect.__file__).parent
# The module that owns each set of templates, and the `reason` factory that gives its codes.
OWNERS = ("tvselect.engine.reasons", "tvselect.verify.messages", "tvselect.app.published")


def _factory_module(tree: ast.Module, path: Path) -> str | None:
    """The owner whose `reason` a source file calls (its own, for an owner's module)."""
    module = "tvselect." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    if module in OWNERS:
        return module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "reason" for a in node.names):
            return node.module
    return None


def _literal_codes() -> list[tuple[str, str, str]]:
    """(file, owner, code) for every `reason("literal-code", ...)` call in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        owner = _factory_module(tree, path)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "reason"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.append((path.name, str(owner), str(node.args[0].value)))
    return found


CODES = _literal_codes()


def test_reasons_are_given_in_the_engine_verify_and_published() -> None:
    assert {owner for _, owner, _ in CODES} == set(OWNERS)


@pytest.mark.parametrize(("where", "owner", "code"), CODES, ids=[f"{w}:{c}" for w, _, c in CODES])
def test_every_code_given_is_in_its_own_layers_templates(where: str, owner: str, code: str) -> None:
    assert code in importlib.import_module(owner).TEMPLATES


def test_no_code_is_owned_twice() -> None:
    tables = [importlib.import_module(owner).TEMPLATES for owner in OWNERS]
    codes = [code for table in tables for code in table]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("owner", OWNERS)
def test_a_layers_reason_renders_from_its_templates_and_never_raises(owner: str) -> None:
    module = importlib.import_module(owner)
    make: Callable[..., Reason] = module.reason
    code, template = next(iter(module.TEMPLATES.items()))
    given = make(code)
    assert isinstance(given, Reason) and given.code == code
    # A missing parameter renders as its placeholder.
    assert given.text == template
    unknown = make("no-such-code", why="x")
    assert unknown.text == "no-such-code: why=x"
    assert make(code) == given and hash(make(code)) == hash(given)


def test_an_engine_reason_does_not_render_another_layers_code() -> None:
    from tvselect.verify.messages import TEMPLATES as VERIFY

    code = next(iter(VERIFY))
    assert Reason(code).text == code
