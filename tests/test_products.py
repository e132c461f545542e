"""Several products in one answer: build-pytorch's branches answered by the same rules as
build-torchvision's (checked against the rules written out here, on real cpuinfo files), the
two-PyTorch warning for real pairs, one `flox install` for a set, and the options around them."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import pytest
from cli_helpers import run
from fakeflox import make_org_flox
from machines import CPUINFO_DIR, cpuinfo_path, machine, real_cpu

from tvselect.base.capability import parse_version
from tvselect.catalog.importer import catalog_document, read_builds
from tvselect.catalog.model import Catalog, Variant, parse_document
from tvselect.catalog.sources import read_folder
from tvselect.engine.decision import Options, select
from tvselect.facts.model import Facts

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BRANCHES = [
    ("build-pytorch", "main"),
    ("build-pytorch", "pytorch-2.9-python313"),
    ("build-pytorch", "pytorch-2.9-vllm-0.15.1"),
    ("build-pytorch", "pytorch-2.10-python313"),
    ("build-torchvision", "main"),
    ("build-torchvision", "pytorch-2.9"),
    ("build-torchvision", "pytorch-2.10"),
]
SETUPS = ["7.5", "8.0", "8.6", "8.9", "9.0", "10.0", "12.0", "none"]
CPUINFOS = sorted(p.name for p in CPUINFO_DIR.glob("*.txt")) if CPUINFO_DIR.is_dir() else ["absent.txt"]
ZEN4 = "linux-rocky8.5-zen4.txt"
IVYBRIDGE = "linux-rhel7-ivybridge.txt"


def folder(repo: str, name: str) -> Path:
    path = SHARED / repo / name
    if not path.is_dir():
        pytest.skip(f"{path} is not here (the shared build-* folders are absent)")
    return path


@functools.cache
def catalog_of(repo: str, name: str, product: str) -> Catalog:
    builds = read_builds([read_folder(str(folder(repo, name)))]).builds
    catalog = parse_document(catalog_document(builds), name)
    return catalog.with_variants(tuple(v for v in catalog.variants if v.product == product))


def by_the_rules(facts: Facts, catalog: Catalog) -> Variant | None:
    """The issue's rules, written out: exact SM, then the newest compatible SM, then branch
    preference, then the ISA by the workload's order, then the newest CUDA the driver supports."""
    cpu, gpus = facts.cpu, facts.gpu.gpus
    order = catalog.workloads["general"].get(cpu.arch, ())
    driver = parse_version(facts.gpu.driver_version or "") or ()

    def runs(v: Variant) -> bool:
        isa = catalog.isas[v.cpu_isa]
        if v.cpu_isa not in order or not isa.needs <= cpu.features or f"{cpu.arch}-linux" not in v.platforms:
            return False
        if not gpus:
            return v.gpu_arch is None
        if v.gpu_arch is None:
            return False
        cap, have = catalog.gpu_archs[v.gpu_arch].capability, gpus[0].capability
        return cap[0] == have[0] and cap[1] <= have[1] and (v.min_driver or ()) <= driver

    def rank(v: Variant) -> tuple[object, ...]:
        cap = catalog.gpu_archs[v.gpu_arch].capability if v.gpu_arch else (0, 0)
        exact = bool(gpus) and cap == gpus[0].capability
        newest = tuple(-n for n in parse_version(v.cuda or "0") or ())
        return (
            not exact,
            (-cap[0], -cap[1]),
            catalog.branch_preference.index(v.branch),
            order.index(v.cpu_isa),
            newest,
        )

    found = sorted((v for v in catalog.variants if runs(v)), key=rank)
    return found[0] if found else None


@pytest.mark.parametrize("gpu", SETUPS, ids=SETUPS)
@pytest.mark.parametrize("cpuinfo", CPUINFOS, ids=CPUINFOS)
@pytest.mark.parametrize("repo,name", BRANCHES, ids=[f"{r}/{n}" for r, n in BRANCHES])
def test_each_branch_answers_by_the_same_rules(repo: str, name: str, cpuinfo: str, gpu: str) -> None:
    product = "pytorch" if repo == "build-pytorch" else "torchvision"
    catalog = catalog_of(repo, name, product)
    for driver in ("580.65.06", "560.35.03"):  # CUDA 13 needs 580: with 560, the newest 12.x
        facts = machine(real_cpu(cpuinfo), *(() if gpu == "none" else (gpu,)), driver=driver)
        chosen = select(facts, catalog, Options()).variant
        expected = by_the_rules(facts, catalog)
        assert (chosen.package if chosen else None) == (expected.package if expected else None)


def test_the_rules_choose_among_several_cudas_by_the_driver() -> None:
    catalog = catalog_of("build-pytorch", "pytorch-2.9-python313", "pytorch")
    cpu = real_cpu(ZEN4)
    new = select(machine(cpu, "9.0", driver="580.65.06"), catalog, Options()).variant
    old = select(machine(cpu, "9.0", driver="560.35.03"), catalog, Options()).variant
    assert new is not None and old is not None
    assert (new.cuda, old.cuda) == ("13.0", "12.9")


# ---- two PyTorch builds -----------------------------------------------------------------------


def answer(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, object], str]:
    done = run(
        "--json",
        "--cpuinfo",
        str(cpuinfo_path(ZEN4)),
        "--gpu",
        "9.0",
        "--driver",
        "580.65.06",
        *args,
        env=env,
    )
    doc = done.json() if done.stdout.strip() else {}  # nothing on stdout for bad input
    return done.code, doc, done.stderr  # type: ignore[return-value]


PAIRS = [
    (("build-torchvision", "pytorch-2.10"), ("build-torchaudio", "main"), "torchaudio"),
    (("build-torchvision", "pytorch-2.10"), ("build-pytorch", "pytorch-2.10-python313"), "pytorch"),
]


@pytest.mark.parametrize("vision,other,product", PAIRS, ids=["torchaudio", "build-pytorch"])
def test_two_pytorch_warning_for_real_sm90_avx512_pairs(
    vision: tuple[str, str], other: tuple[str, str], product: str
) -> None:
    code, doc, stderr = answer(
        "--catalog", str(folder(*vision)), "--catalog", str(folder(*other)),
        "--product", "torchvision", "--product", product,
    )  # fmt: skip
    assert code == 0, stderr
    packages = doc["packages"]
    assert isinstance(packages, list) and all(p.endswith("-sm90-avx512") for p in packages)
    two = doc["two_pytorch"]
    assert isinstance(two, dict)
    assert two["avoid"][0].startswith(
        "the TorchVision package alone: it brings its own PyTorch 2.10.0 built for sm90 and AVX-512"
    )
    assert "2 different PyTorch builds" in stderr and two["text"] in stderr


def test_a_set_that_brings_one_pytorch_has_no_warning_and_one_install() -> None:
    """build-pytorch's main builds a TorchVision on its own PyTorch recipe: the same torch derivation."""
    path = str(folder("build-pytorch", "main"))
    done = run(
        "--json", "--cpuinfo", str(cpuinfo_path(IVYBRIDGE)), "--gpu", "7.5", "--catalog", path,
        "--product", "pytorch", "--product", "torchvision", "--install", "--org", "acme", "--dry-run",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    doc = done.json()
    assert doc["packages"] == [
        "pytorch-python313-cuda12_8-sm75-avx",
        "torchvision-python313-cuda12_8-sm75-avx",
    ]  # type: ignore[index]
    assert doc["two_pytorch"] is None  # type: ignore[index]
    assert doc["install"] == ["flox", "install", *(f"acme/{p}" for p in doc["packages"])]  # type: ignore[index]


@pytest.mark.parametrize("columns", [60, 100, 200])
def test_the_sets_install_command_is_one_line_at_any_width(columns: int) -> None:
    """A copied line must be a whole command: the set's `flox install` is never broken inside."""
    path = str(folder("build-pytorch", "main"))
    args = ("--cpuinfo", str(cpuinfo_path(IVYBRIDGE)), "--gpu", "7.5", "--catalog", path)
    args += ("--product", "pytorch", "--product", "torchvision", "--install", "--org", "acme", "--dry-run")
    command = " ".join(run("--json", *args).json()["install"])  # type: ignore[index]
    done = run(*args, env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    assert done.code == 0, done.stderr
    assert command in [line.strip().removeprefix("Install").strip() for line in done.stdout.splitlines()]


def test_install_refuses_two_pytorch_builds_unless_allowed(tmp_path: Path) -> None:
    vision, audio = str(folder("build-torchvision", "pytorch-2.10")), str(folder("build-torchaudio", "main"))
    args = ("--catalog", vision, "--catalog", audio, "--product", "torchvision", "--product", "torchaudio")
    code, doc, stderr = answer(*args, "--install", "--org", "acme", "--dry-run")
    assert code == 4 and "flox was not run" in stderr and "--allow-two-torch" in stderr
    assert doc["installed"]["ok"] is False  # type: ignore[index]
    code, doc, stderr = answer(*args, "--install", "--org", "acme", "--dry-run", "--allow-two-torch")
    assert code == 0, stderr
    assert doc["installed"]["command"] == ["flox", "install", *(f"acme/{p}" for p in doc["packages"])]  # type: ignore[index, union-attr]


def test_a_set_installs_with_one_flox_call_on_this_machine(tmp_path: Path) -> None:
    """This machine's own facts (no GPU here): the CPU builds of both, in one `flox install`."""
    vision, audio = str(folder("build-torchvision", "pytorch-2.10")), str(folder("build-torchaudio", "main"))
    args = ("--catalog", vision, "--catalog", audio, "--product", "torchvision", "--product", "torchaudio")
    probe = run("--json", *args)
    if probe.code != 0:
        pytest.skip(f"no CPU build of both runs on this machine ({probe.stderr.strip()[-120:]})")
    chosen = probe.json()["packages"]  # type: ignore[index]
    assert isinstance(chosen, list)
    fake = make_org_flox(tmp_path, {p: ["1"] for p in chosen})
    refused = run("--json", *args, "--install", "--org", "acme", env=fake.env())
    assert refused.code == 4 and [c for c in fake.calls() if c[0] == "install"] == []
    done = run("--json", *args, "--install", "--org", "acme", "--allow-two-torch", env=fake.env())
    assert done.code == 0, done.stderr
    assert [c for c in fake.calls() if c[0] == "install"] == [["install", *(f"acme/{p}" for p in chosen)]]


def test_available_holds_for_each_package(tmp_path: Path) -> None:
    vision, audio = str(folder("build-torchvision", "pytorch-2.10")), str(folder("build-torchaudio", "main"))
    listed = tmp_path / "published.txt"
    listed.write_text(
        "acme/torchvision-python313-cuda13_0-sm90-avx2\nacme/torchaudio-python313-cuda12_8-sm90-avx2\n"
    )
    code, doc, stderr = answer(
        "--catalog", vision, "--catalog", audio, "--product", "torchvision", "--product", "torchaudio",
        "--available", str(listed), "--org", "acme",
    )  # fmt: skip
    assert code == 0, stderr
    assert doc["packages"] == [
        "torchvision-python313-cuda13_0-sm90-avx2",
        "torchaudio-python313-cuda12_8-sm90-avx2",
    ]
    answers = doc["answers"]
    assert isinstance(answers, dict)
    assert answers["torchvision"]["best"] == "torchvision-python313-cuda13_1-sm90-avx512"


def test_one_python_for_every_product_or_a_bad_input() -> None:
    vllm312 = str(folder("build-vllm", "vllm-0.14.1-python312"))
    torch313 = str(folder("build-pytorch", "main"))
    code, _, stderr = answer(
        "--catalog", vllm312, "--catalog", torch313, "--product", "vllm", "--product", "pytorch"
    )
    assert code == 2 and "no Python version is built for every product asked" in stderr
    assert "vllm: 3.12" in stderr and "pytorch: 3.13" in stderr


@pytest.mark.parametrize(
    "args,says",
    [
        (("--product", "tensorflow"), "--product 'tensorflow': choose from pytorch"),
        (("--product", "vllm"), "builds no vllm package"),
        (("--product", "torchvision", "--product", "torchvision"), "each product once"),
        (("--product", "torchvision", "--allow-two-torch"), "--allow-two-torch goes with --install"),
    ],
    ids=["unknown", "absent", "twice", "allow-without-install"],
)
def test_product_options_are_checked(args: tuple[str, ...], says: str) -> None:
    code, _, stderr = answer(*args)
    assert code == 2 and says in stderr


def test_list_filters_on_product_and_shows_it() -> None:
    path = str(folder("build-pytorch", "main"))
    done = run("list", "--json", "--catalog", path, "--product", "torchaudio")
    assert done.code == 0, done.stderr
    listed = done.json()
    assert isinstance(listed, list) and listed
    assert {v["product"] for v in listed} == {"torchaudio"}
    every = run("list", "--json", "--catalog", path).json()
    assert isinstance(every, list) and {v["product"] for v in every} == {
        "pytorch",
        "torchvision",
        "torchaudio",
    }


def test_show_gives_the_product_and_the_pytorch_it_brings() -> None:
    path = str(folder("build-vllm", "main"))
    done = run("show", "--json", "vllm-python313-cuda12_8-sm90-avx512", "--catalog", path)
    assert done.code == 0, done.stderr
    (entry,) = done.json()["variants"]  # type: ignore[index]
    assert (entry["product"], entry["product_version"], entry["pytorch"]) == ("vllm", "0.15.1", "2.9.1")
    assert entry["torch"]["origin"] == "lib/custom-torch.nix"
    assert json.dumps(entry["torch"]["cpu_flags"]) == json.dumps(
        ["-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx512bw", "-mfma"]
    )


# ---- fleets and the one-product command ---------------------------------------------------------


def _fleet(tmp_path: Path) -> Path:
    fleet = tmp_path / "fleet"
    fleet.mkdir(parents=True)
    for gpu in ("7.5", "8.6", "9.0"):
        done = run("probe", "--json", "--gpu", gpu, "--cpuinfo", str(cpuinfo_path(ZEN4)))
        (fleet / f"h{gpu}.json").write_text(done.stdout)
    return fleet


@pytest.mark.parametrize("cover", [False, True], ids=["plan", "cover"])
def test_plan_takes_the_catalogs_and_a_product(tmp_path: Path, cover: bool) -> None:
    catalogs = (
        "--catalog",
        str(folder("build-pytorch", "main")),
        "--catalog",
        str(folder("build-vllm", "main")),
    )
    extra = ("--cover",) if cover else ()
    for product in ("vllm", "pytorch"):
        done = run("plan", str(_fleet(tmp_path / product)), "--json", *catalogs, "--product", product, *extra)
        assert done.code == 0, done.stderr
        assert f"{product}-python313-cuda12_" in done.stdout
        other = "pytorch-python313" if product == "vllm" else "vllm-python313"
        assert other not in done.stdout


def test_one_product_of_a_mixed_checkout_is_chosen_and_the_others_named() -> None:
    """build-pytorch's main also holds two TorchVision and two TorchAudio recipes."""
    done = run(
        "--json",
        "--gpu",
        "7.5",
        "--cpuinfo",
        str(cpuinfo_path(IVYBRIDGE)),
        "--catalog",
        str(folder("build-pytorch", "main")),
    )
    assert done.code == 0, done.stderr
    assert done.json()["product"] == "pytorch"  # type: ignore[index]
    assert "also builds torchaudio (2), torchvision (2); chose among its pytorch packages" in done.stderr


def test_tvselect_catalog_is_a_path_list_as_repeated_catalog_is() -> None:
    vision, audio = str(folder("build-torchvision", "pytorch-2.10")), str(folder("build-torchaudio", "main"))
    products = ("--product", "torchvision", "--product", "torchaudio")
    by_env = answer(*products, env={"TVSELECT_CATALOG": f"{vision}{os.pathsep}{audio}"})
    by_option = answer("--catalog", vision, "--catalog", audio, *products)
    assert by_env[0] == by_option[0] == 0
    assert by_env[1]["packages"] == by_option[1]["packages"]


def test_builtin_among_several_catalogs_names_the_shipped_one() -> None:
    audio = str(folder("build-torchaudio", "main"))
    code, doc, stderr = answer(
        "--catalog", "builtin", "--catalog", audio, "--product", "torchvision", "--product", "torchaudio"
    )
    assert code == 0, stderr
    assert doc["answers"]["torchvision"]["branch"] == "cuda-12_9"  # type: ignore[index]
