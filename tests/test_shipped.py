"""The shipped tables (data/*.json): the one loader, the hardware table and who reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tvselect.base.capability import parse_capability
from tvselect.base.hardware import arm_core_name, known_capabilities, tegra_capabilities
from tvselect.base.shipped import shipped_table
from tvselect.catalog.model import load_catalog, parse_catalog
from tvselect.errors import CatalogError, DataError, TvselectError
from tvselect.probe.cpu import read_cpuinfo_file

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "tvselect"
TABLES = sorted(p.stem for p in (ROOT / "data").glob("*.json"))
HARDWARE = json.loads((ROOT / "data" / "hardware.json").read_text())
CPUINFO = ROOT.parent / "shared" / "cpuinfo"


@pytest.mark.parametrize("name", TABLES, ids=TABLES)
def test_every_table_loads_once_and_is_what_the_file_says(name: str) -> None:
    first = shipped_table(name)
    assert first == json.loads((ROOT / "data" / f"{name}.json").read_text())
    assert shipped_table(name) is first
    assert (SRC / "data" / f"{name}.json").resolve() == (ROOT / "data" / f"{name}.json").resolve()


def test_a_missing_table_is_a_data_error_naming_it() -> None:
    with pytest.raises(DataError, match=r"^tvselect/data/no-such-table\.json: cannot be read") as caught:
        shipped_table("no-such-table")
    assert isinstance(caught.value, CatalogError) and isinstance(caught.value, TvselectError)


def test_only_the_loader_reads_shipped_files() -> None:
    readers = sorted(
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if "shipped_text(" in p.read_text() and p.name != "textfile.py"
    )
    assert readers == ["base/shipped.py"]


def _cited(node: object) -> list[str]:
    """Every name listed under a `sources` list anywhere in the table."""
    if isinstance(node, dict):
        found = [s for s in node.get("sources", []) if isinstance(node.get("sources"), list)]
        return found + [c for key, value in node.items() if key != "sources" for c in _cited(value)]
    if isinstance(node, list):
        return [c for item in node for c in _cited(item)]
    return []


def test_hardware_table_cites_only_sources_it_lists_and_each_section_cites_some() -> None:
    cited = _cited(HARDWARE)
    assert cited and set(cited) <= set(HARDWARE["sources"])
    for section in ("compute_capabilities", "arm_parts"):
        assert HARDWARE[section]["sources"], section


def test_the_shipped_catalog_takes_its_capabilities_from_the_hardware_table() -> None:
    catalog = load_catalog()
    listed = {parse_capability(c) for c in HARDWARE["compute_capabilities"]["known"]}
    assert catalog.known_capabilities == known_capabilities() == listed
    assert catalog.tegra_capabilities == tegra_capabilities()
    assert catalog.tegra_capabilities <= catalog.known_capabilities
    assert "known_compute_capabilities" not in shipped_table("variants")


def test_a_catalog_that_lists_its_own_capabilities_keeps_them() -> None:
    document = json.loads((ROOT / "data" / "variants.json").read_text())
    known = [*sorted(str(c) for c in known_capabilities()), "13.0"]
    document.update(known_compute_capabilities=known, tegra_compute_capabilities=["8.7"])
    catalog = parse_catalog(json.dumps(document), "own.json")
    assert catalog.known_capabilities == known_capabilities() | {parse_capability("13.0")}
    assert catalog.tegra_capabilities == {parse_capability("8.7")}


@pytest.mark.parametrize(
    ("file", "name"),
    [("linux-amazon-neoverse_n1.txt", "ARM Neoverse N1"), ("linux-rhel9-neoverse_v2.txt", "ARM Neoverse V2")],
    ids=["graviton2", "grace"],
)
def test_arm_cores_are_named_from_the_hardware_table(file: str, name: str) -> None:
    path = CPUINFO / file
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    model = read_cpuinfo_file(str(path)).model
    assert model is not None and model.startswith(f"{name} (implementer 0x41, part ")


@pytest.mark.parametrize(
    ("implementer", "part"),
    [(i, p) for i, parts in HARDWARE["arm_parts"]["implementers"].items() for p in parts],
)
def test_every_listed_arm_part_has_a_name(implementer: str, part: str) -> None:
    assert (
        arm_core_name(implementer.upper(), part.upper())
        == HARDWARE["arm_parts"]["implementers"][implementer][part]
    )
    assert arm_core_name(implementer, "0xfff") is None
