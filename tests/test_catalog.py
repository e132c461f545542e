from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tvselect.catalog.model import Catalog, load_catalog, parse_catalog
from tvselect.errors import CatalogError

SEED_README = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "build-torchvision-README.md"
BUILTIN = json.loads((Path(__file__).resolve().parents[1] / "data" / "variants.json").read_text())


def test_branch_counts(catalog: Catalog) -> None:
    listed = Counter(v["branch"] for v in BUILTIN["variants"])
    assert Counter(v.branch for v in catalog.variants) == listed
    assert set(listed) == set(BUILTIN["branches"])  # every branch builds something


def test_variants_unique_per_branch(catalog: Catalog) -> None:
    keys = [(v.branch, v.package) for v in catalog.variants]
    assert len(keys) == len(set(keys)) == len(BUILTIN["variants"])


def test_only_cpu_names_are_shared_between_branches(catalog: Catalog) -> None:
    shared = {name: branches for name, branches in catalog.branches_of_package.items() if len(branches) > 1}
    assert set(shared) == {
        f"torchvision-python313-cpu-{isa}"
        for isa in ("avx2", "avx512", "avx512bf16", "avx512vnni", "armv8_2", "armv9")
    }
    assert all(set(b) == {"cuda-12_9", "main"} for b in shared.values())


@pytest.mark.parametrize(
    "branch,tag", [("cuda-12_9", "cuda12_9"), ("main", "cuda12_8"), ("cuda-13_0", "cuda13_0")], ids=str
)
def test_names_match_branch_isa_and_sm(catalog: Catalog, branch: str, tag: str) -> None:
    for v in catalog.variants:
        if v.branch != branch:
            continue
        expected = (
            f"torchvision-python313-{tag}-{v.gpu_arch}-{v.cpu_isa}"
            if v.gpu_arch
            else f"torchvision-python313-cpu-{v.cpu_isa}"
        )
        assert v.package == expected


def test_every_referenced_isa_and_sm_is_defined(catalog: Catalog) -> None:
    assert {v.cpu_isa for v in catalog.variants} <= set(catalog.isas)
    assert {v.gpu_arch for v in catalog.variants if v.gpu_arch} <= set(catalog.gpu_archs)
    for orders in catalog.workloads.values():
        for arch, order in orders.items():
            assert all(catalog.isas[isa].arch == arch for isa in order)


@pytest.mark.parametrize(
    "branch,archs,isas",
    [
        ("main", {None, "sm61", "sm80", "sm86", "sm89", "sm90", "sm100", "sm120"}, 7),
        ("cuda-12_9", {None, "sm61", "sm75", "sm80", "sm86", "sm89", "sm90", "sm100", "sm103", "sm120"}, 7),
        ("cuda-13_0", {"sm110", "sm121"}, 6),
    ],
    ids=["main", "cuda-12_9", "cuda-13_0"],
)
def test_branch_matrix(catalog: Catalog, branch: str, archs: set[str | None], isas: int) -> None:
    on_branch = [v for v in catalog.variants if v.branch == branch]
    assert {v.gpu_arch for v in on_branch} == archs
    assert len({v.cpu_isa for v in on_branch}) == isas
    sm61 = {v.cpu_isa for v in on_branch if v.gpu_arch == "sm61"}
    assert sm61 in (set(), {"avx", "avx2"})  # SM61 builds are x86-only
    if branch == "main":
        assert "avx" not in {v.cpu_isa for v in on_branch if v.gpu_arch is None}


def test_branch_versions_and_driver_minimums(catalog: Catalog) -> None:
    b = catalog.branches
    assert (
        b["cuda-12_9"].torchvision,
        b["cuda-12_9"].pytorch,
        b["cuda-12_9"].cuda,
        b["cuda-12_9"].cudnn,
    ) == ("0.24.0", "2.9.1", "12.9.1", "9.13.0")
    assert (b["main"].torchvision, b["main"].pytorch, b["main"].cuda) == ("0.23.0", "2.8.0", "12.8")
    assert b["cuda-13_0"].torchvision is None  # not yet known: never invented
    assert (b["cuda-13_0"].pytorch, b["cuda-13_0"].cuda) == ("2.10", "13.0")
    # The driver minimum follows each variant's CUDA major version (data/cuda.json).
    minimums = {(v.branch, v.cuda, v.min_driver, v.min_driver_text) for v in catalog.variants if v.cuda}
    assert minimums == {
        ("main", "12.8", (550,), "550"),
        ("cuda-12_9", "12.9.1", (550,), "550"),
        ("cuda-13_0", "13.0", (580,), "580"),
    }
    note = next(v.min_driver_note or "" for v in catalog.variants if v.cuda == "13.0")
    assert "570" in note and "580" in note
    assert all(v.min_driver is None and v.cuda is None for v in catalog.variants if v.gpu_arch is None)


@pytest.mark.parametrize(
    "isa,needs",
    [
        ("avx", {"avx"}),
        ("avx2", {"avx2", "fma", "f16c"}),
        # -mavx512f implies -mavx2 (GCC), so every AVX-512 build also needs the kernel's avx2 flag.
        ("avx512", {"avx2", "avx512f", "avx512dq", "avx512vl", "avx512bw", "fma"}),
        ("avx512bf16", {"avx2", "avx512f", "avx512dq", "avx512vl", "avx512bw", "fma", "avx512_bf16"}),
        ("avx512vnni", {"avx2", "avx512f", "avx512dq", "avx512vl", "avx512bw", "fma", "avx512_vnni"}),
        ("armv8_2", {"atomics", "asimdrdm", "fphp", "asimdhp", "asimddp"}),
        ("armv9", {"atomics", "asimdrdm", "fphp", "asimdhp", "asimddp", "sve", "sve2"}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_isa_needs(catalog: Catalog, isa: str, needs: set[str]) -> None:
    assert catalog.isas[isa].needs == needs


@pytest.mark.parametrize(
    "sm,cap,example,not_example",
    [
        ("sm89", (8, 9), "L40S", None),
        ("sm90", (9, 0), "H100", "L40S"),
        ("sm110", (11, 0), "Jetson AGX Thor", "Orin"),
        ("sm121", (12, 1), "DGX Spark", None),
        ("sm103", (10, 3), "B300", None),
    ],
    ids=["L40S-is-Ada", "H100-not-L40S", "Thor-not-Orin", "DGX-Spark", "B300"],
)
def test_gpu_arch_corrections(
    catalog: Catalog, sm: str, cap: tuple[int, int], example: str, not_example: str | None
) -> None:
    arch = catalog.gpu_archs[sm]
    assert arch.capability == cap
    assert example in arch.examples
    if not_example:
        assert not any(not_example in e for e in arch.examples)


def test_tegra_capabilities(catalog: Catalog) -> None:
    assert catalog.tegra_capabilities == {(3, 2), (5, 3), (6, 2), (7, 2), (8, 7), (10, 1), (11, 0)}


def test_cuda_12_9_names_are_the_seed_matrix() -> None:
    if not SEED_README.is_file():
        pytest.skip("the seed README is not beside the repository")
    text = SEED_README.read_text()
    matrix = text[text.index("### Complete Variant Matrix") : text.index("### Variants on Other Branches")]
    seed = set(re.findall(r"`(torchvision-python313-[a-z0-9_-]+)`", matrix))
    ours = {v.package for v in load_catalog().variants if v.branch == "cuda-12_9"}
    assert seed and ours == seed


def _broken(mutate: object) -> str:
    data = json.loads(json.dumps(BUILTIN))
    mutate(data)  # type: ignore[operator]
    return json.dumps(data)


def _drop(key: str):  # type: ignore[no-untyped-def]
    return lambda d: d["variants"][3].pop(key)


BROKEN = [
    ("empty", "", ": empty"),
    ("whitespace", "  \n", ": empty"),
    ("truncated", json.dumps(BUILTIN)[:500], "invalid JSON at line"),
    ("not-json", "branches: [", "invalid JSON"),
    ("array", "[]", "expected an object"),
    ("schema-version", _broken(lambda d: d.update(schema_version=4)), "schema_version: expected 3 (or 1, 2)"),
    (
        "unknown-isa",
        _broken(lambda d: d["variants"][5].update(cpu_isa="avx9")),
        "variants[5] (torchvision-python313-cpu-armv8_2): unknown cpu_isa 'avx9'",
    ),
    ("unknown-sm", _broken(lambda d: d["variants"][10].update(gpu_arch="sm77")), "unknown gpu_arch 'sm77'"),
    ("unknown-branch", _broken(lambda d: d["variants"][0].update(branch="dev")), "unknown branch 'dev'"),
    (
        "missing-field",
        _broken(_drop("cpu_isa")),
        "variants[3] (torchvision-python313-cpu-avx512bf16): missing field 'cpu_isa'",
    ),
    ("missing-package", _broken(_drop("package")), "variants[3]: missing field 'package'"),
    (
        "name-mismatch-v1",
        _broken(lambda d: d["variants"][7].update(cpu_isa="avx512") or d.update(schema_version=1)),
        "name says ISA 'avx2', cpu_isa is 'avx512'",
    ),
    (
        "duplicate",
        _broken(lambda d: d["variants"].append(dict(d["variants"][0]))),
        "listed twice on branch 'cuda-12_9'",
    ),
    ("isa-unknown-arch", _broken(lambda d: d["isas"]["avx"].update(arch="mips")), "isas.avx: arch 'mips'"),
    (
        "workload-unknown-isa",
        _broken(lambda d: d["workloads"]["general"]["x86_64"].append("sse")),
        "workloads.general: unknown ISA 'sse'",
    ),
    (
        "bad-cuda",
        _broken(lambda d: d["variants"][10].update(cuda="new")),
        "cuda 'new' is not a version",
    ),
    (
        "cuda-without-driver-minimum",
        _broken(lambda d: d["variants"][10].update(cuda="11.8")),
        "no NVIDIA driver minimum is known for CUDA 11.8",
    ),
    (
        "gpu-build-without-cuda",
        _broken(lambda d: d["variants"][10].update(cuda=None)),
        "a CUDA build (gpu_arch is set) needs a cuda version",
    ),
    (
        "sm-name-mismatch",
        _broken(lambda d: d["gpu_archs"]["sm90"].update(compute_capability="9.1")),
        "gpu_archs.sm90",
    ),
    ("no-variants", _broken(lambda d: d.update(variants=[])), "no variant defined"),
]


@pytest.mark.parametrize("text,message", [(t, m) for _, t, m in BROKEN], ids=[i for i, _, _ in BROKEN])
def test_broken_catalog_gives_one_line_error_naming_file_and_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "variants.json"
    path.write_text(text)
    with pytest.raises(CatalogError) as caught:
        load_catalog(str(path))
    error = str(caught.value)
    assert "\n" not in error
    assert error.startswith(f"catalog {path}: ")
    assert message in error


def test_parse_catalog_round_trips_builtin() -> None:
    assert parse_catalog(json.dumps(BUILTIN), "x") == load_catalog()._replace(source="x")


def test_unreadable_catalog(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot be read"):
        load_catalog(str(tmp_path / "missing.json"))
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfegarbage")
    with pytest.raises(CatalogError, match="not UTF-8"):
        load_catalog(str(binary))


def test_schema_1_documents_still_load_with_the_same_meaning(catalog: Catalog) -> None:
    old = json.loads(json.dumps(BUILTIN))
    old["schema_version"] = 1
    for branch in old["branches"].values():  # version 1 kept the driver minimum per branch
        branch.update(min_driver="550", min_driver_note="as written then")
    loaded = parse_catalog(json.dumps(old), "v1.json")
    meaning = [(v.package, v.branch, v.cuda, v.min_driver, v.platforms) for v in catalog.variants]
    assert [(v.package, v.branch, v.cuda, v.min_driver, v.platforms) for v in loaded.variants] == meaning
