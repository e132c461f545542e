"""`tvselect catalog import|lint|diff` and `--catalog CHECKOUT`, as the installed console script runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import run
from machines import cpuinfo_path
from test_recipes import BRANCHES, RECIPES_DIR, TEAM, checkout, recipes

ZEN4 = "linux-rocky8.5-zen4.txt"
SM75 = "torchvision-python313-cuda12_8-sm75-avx512"
SM70 = "torchvision-python313-cuda12_8-sm70-avx512"


def team_copy(tmp_path: Path, name: str = "team") -> Path:
    target = tmp_path / name
    shutil.copytree(TEAM, target)
    return target


def add_sm70(folder: Path, source: Path) -> None:
    """What the build-torchvision README's 'Extending the Matrix' says: copy an SM75 recipe, change
    gpuArchNum, gpuArchSM (and the pname and file name)."""
    text = source.read_text()
    for name in ("gpuArchNum", "gpuArchSM"):  # the real recipes write both "75" and "7.5"
        text = text.replace(f'{name} = "75"', f'{name} = "70"').replace(f'{name} = "7.5"', f'{name} = "7.0"')
    text = text.replace("-sm75-", "-sm70-")
    (folder / ".flox/pkgs" / f"{SM70}.nix").write_text(text)


# ---- import ---------------------------------------------------------------------------------


@pytest.mark.parametrize("branch", BRANCHES, ids=BRANCHES)
def test_import_prints_a_catalog_that_loads(branch: str, tmp_path: Path) -> None:
    count = len(recipes(branch))
    done = run("catalog", "import", str(checkout(branch)))
    assert done.code == 0, done.stderr
    assert done.stderr == f"tvselect: imported {branch} {count} variants\n"
    (tmp_path / "c.json").write_text(done.stdout)
    listed = run("list", "--json", "--catalog", str(tmp_path / "c.json"))
    assert listed.code == 0, listed.stderr
    assert len(listed.json()) == count  # type: ignore[arg-type]


def test_sm70_recipe_copied_from_sm75_is_chosen_for_a_v100(tmp_path: Path) -> None:
    folder = team_copy(tmp_path)
    add_sm70(folder, folder / ".flox/pkgs" / f"{SM75}.nix")
    args = ("--json", "--gpu", "7.0", "--driver", "560", "--cpuinfo", str(cpuinfo_path(ZEN4)))
    assert run(*args).code == 3  # the shipped catalog has no SM70 build
    done = run(*args, "--catalog", str(folder))
    assert done.code == 0, done.stderr
    assert done.json()["package"] == SM70  # type: ignore[index]
    from_env = run(*args, env={"TVSELECT_CATALOG": str(folder)})
    assert from_env.json()["package"] == SM70  # type: ignore[index]
    named = run(*args, "--catalog", f"v100={folder}")
    assert (named.json()["package"], named.json()["branch"]) == (SM70, "v100")  # type: ignore[index]


def test_sm70_recipe_copied_from_a_real_sm75_one(tmp_path: Path) -> None:
    folder = tmp_path / "v100"
    (folder / ".flox/pkgs").mkdir(parents=True)
    add_sm70(folder, checkout("main") / ".flox/pkgs" / f"{SM75}.nix")
    done = run(
        "--json",
        "--catalog",
        str(folder),
        "--gpu",
        "7.0",
        "--driver",
        "560",
        "--cpuinfo",
        str(cpuinfo_path(ZEN4)),
    )
    assert done.json()["package"] == SM70  # type: ignore[index]


def test_darwin_build_is_never_chosen_on_linux_and_explain_says_why() -> None:
    args = (
        "--catalog",
        str(checkout("main")),
        "--gpu",
        "none",
        "--cpuinfo",
        str(cpuinfo_path("linux-rhel9-neoverse_v2.txt")),
    )
    done = run("--json", "--explain", *args)
    assert done.json()["package"] == "torchvision-python313-cpu-armv9"  # type: ignore[index]
    human = run("--explain", *args)
    assert "built for aarch64-darwin; this machine is aarch64-linux" in human.stdout


def test_import_of_several_checkouts_with_preference_and_stated_versions(tmp_path: Path) -> None:
    team = team_copy(tmp_path)
    done = run(
        "catalog", "import", f"ours={team}", f"theirs={team}", "--prefer", "theirs",
        "--version-of", "ours=0.23.1,2.8.1",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["branch_preference"] == ["theirs", "ours"]
    versions = {(v["branch"], v["torchvision"], v["pytorch"]) for v in document["variants"]}
    assert versions == {("ours", "0.23.1", "2.8.1"), ("theirs", "0.23.0", "2.8.0")}


def test_bad_recipe_fails_the_import_with_one_line_and_skip_bad_lists_it(tmp_path: Path) -> None:
    folder = team_copy(tmp_path)
    bad = folder / ".flox/pkgs/torchvision-python313-cpu-avx512fp17.nix"
    bad.write_text(
        (folder / ".flox/pkgs/torchvision-python313-cpu-avx2.nix").read_text().replace("-mf16c", "-mfp17")
    )
    done = run("catalog", "import", str(folder))
    assert (done.code, done.stdout) == (2, "")
    assert (
        done.stderr
        == f"tvselect: error: {bad}:8: compiler flag '-mfp17' is not in tvselect/data/compiler-flags.json\n"
    )
    skipped = run("catalog", "import", "--skip-bad", str(folder))
    assert skipped.code == 0
    assert f"tvselect: skipped {bad}:8:" in skipped.stderr
    assert len(json.loads(skipped.stdout)["variants"]) == 2


# ---- -o FILE --------------------------------------------------------------------------------


def test_output_is_written_and_replaced_only_when_tvselect_wrote_it(tmp_path: Path) -> None:
    team, out = team_copy(tmp_path), tmp_path / "catalog.json"
    assert run("catalog", "import", str(team), "-o", str(out)).code == 0
    first = out.read_text()
    assert json.loads(first)["generator"] == "tvselect catalog import"
    assert run("catalog", "import", f"other={team}", "-o", str(out)).code == 0  # its own: replaced
    assert "other" in json.loads(out.read_text())["branches"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tvselect-")] == []


@pytest.mark.parametrize("kind", ["foreign-json", "text", "shipped-catalog", "symlink", "directory"])
def test_output_never_replaces_what_tvselect_did_not_write(kind: str, tmp_path: Path) -> None:
    team, out = team_copy(tmp_path), tmp_path / "target"
    if kind == "foreign-json":
        out.write_text('{"generator": "someone else"}')
    elif kind == "text":
        out.write_text("precious notes\n")
    elif kind == "shipped-catalog":
        out.write_text((Path(__file__).resolve().parents[1] / "data/variants.json").read_text())
    elif kind == "symlink":
        (tmp_path / "real").write_text("{}")
        out.symlink_to(tmp_path / "real")
    else:
        out.mkdir()
    before = sorted((p.name, p.is_dir() or p.read_bytes()) for p in tmp_path.iterdir() if p.name != "team")
    done = run("catalog", "import", str(team), "-o", str(out))
    assert done.code == 2
    assert (
        done.stderr.startswith(f"tvselect: error: -o {out}: exists and is not ")
        and done.stderr.count("\n") == 1
    )
    assert (
        sorted((p.name, p.is_dir() or p.read_bytes()) for p in tmp_path.iterdir() if p.name != "team")
        == before
    )


# ---- git branches -----------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def test_git_branches_are_read_from_objects_without_touching_the_work_tree(tmp_path: Path) -> None:
    repo = team_copy(tmp_path, "repo")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "two recipes")
    _git(repo, "checkout", "-q", "-b", "v100")
    add_sm70(repo, repo / ".flox/pkgs" / f"{SM75}.nix")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "sm70")
    _git(repo, "checkout", "-q", "main")
    (repo / ".flox/pkgs/torchvision-python313-cpu-avx2.nix").write_text("not even nix {")  # work tree only
    done = run("catalog", "import", str(repo), "--branch", "v100", "--branch", "main")
    assert done.code == 0, done.stderr
    assert done.stderr == "tvselect: imported v100 3, main 2 variants\n"
    recipes = {v["recipe"] for v in json.loads(done.stdout)["variants"]}
    assert f"v100:.flox/pkgs/{SM70}.nix" in recipes
    every = run("catalog", "import", str(repo), "--all-branches")
    assert every.stderr == "tvselect: imported main 2, v100 3 variants\n"
    missing = run("catalog", "import", str(repo), "--branch", "nope")
    assert missing.code == 2 and missing.stderr.count("\n") == 1


# ---- lint and diff ---------------------------------------------------------------------------

MAIN_AVX2 = ["sm100", "sm75", "sm80", "sm86", "sm89", "sm90"]


@pytest.mark.parametrize("branch", BRANCHES, ids=BRANCHES)
def test_lint_on_the_real_branches(branch: str) -> None:
    done = run("catalog", "lint", str(checkout(branch)))
    if branch == "main":
        pkgs = checkout(branch) / ".flox/pkgs"
        expected = [
            f"{pkgs}/torchvision-python313-cuda12_8-{sm}-avx2.nix:{line}: pname says ISA avx2, but its cpuFlags (-mavx2 -mfma) lack f16c"
            for sm, line in zip(MAIN_AVX2, [25, 24, 25, 24, 25, 25], strict=True)
        ]
        assert (done.code, done.stdout.splitlines()) == (1, expected)
    else:
        assert (done.code, done.stdout, done.stderr) == (0, "", "tvselect: 0 findings\n")


LINTED = [
    ("sm103-on-12.8", ('gpuArchSM = "7.5"', 'gpuArchSM = "10.3"'), ("-sm75-", "-sm103-"), ":15: compute capability 10.3 needs CUDA 12.9 or newer; this recipe builds with CUDA 12.8"),
    ("sm61-on-13", ('gpuArchSM = "7.5"', 'gpuArchSM = "6.1"'), ("cuda12_8-sm75", "cuda13_0-sm61"), ":16: CUDA 13.x builds nothing older than compute capability 7.5"),
    ("x86-flags-on-aarch64", ('oldAttrs.meta.platforms or [ "x86_64-linux" "aarch64-linux" ]', '[ "aarch64-linux" ]'), ("", ""), ":35: cpuFlags are x86_64 flags"),
    ("pname-sm", ('gpuArchSM = "7.5"', 'gpuArchSM = "8.0"'), ("", ""), ":35: pname says GPU target sm75, gpuTargets says sm80"),
    ("pname-isa", ('"-mavx512bw"', '"-mavx2"'), ("", ""), ":19: pname says ISA avx512, but its cpuFlags"),
    ("file-name", ("", ""), ("-avx512", "-avx512vnni"), ":35: file name torchvision-python313-cuda12_8-sm75-avx512.nix differs from pname"),
]  # fmt: skip


@pytest.mark.parametrize("edit,rename,finding", [row[1:] for row in LINTED], ids=[row[0] for row in LINTED])
def test_lint_findings(edit: tuple[str, str], rename: tuple[str, str], finding: str, tmp_path: Path) -> None:
    folder = team_copy(tmp_path)
    recipe = folder / ".flox/pkgs" / f"{SM75}.nix"
    text = recipe.read_text().replace(*edit)
    if rename[0]:
        text = text.replace(f'pname = "{SM75}"', f'pname = "{SM75.replace(*rename)}"')
        if "cuda13" in rename[1]:
            text = text.replace(
                "cudaSupport = true; };",
                "cudaSupport = true; };\n    overlays = [ (final: prev: { cudaPackages = final.cudaPackages_13; }) ];",
            )
    recipe.write_text(text)
    done = run("catalog", "lint", str(folder))
    assert done.code == 1, done.stderr
    assert any(line.startswith(f"{recipe}{finding}") for line in done.stdout.splitlines()), done.stdout


def test_lint_finds_duplicate_pnames(tmp_path: Path) -> None:
    folder = team_copy(tmp_path)
    shutil.copy(folder / ".flox/pkgs" / f"{SM75}.nix", folder / ".flox/pkgs/copy.nix")
    done = run("catalog", "lint", str(folder))
    assert done.code == 1
    pkgs = folder / ".flox/pkgs"
    assert f"{pkgs}/{SM75}.nix:35: pname {SM75} is also the pname of {pkgs}/copy.nix\n" in done.stdout


def test_diff_shows_sm75_appearing_on_main() -> None:
    done = run("catalog", "diff", "builtin", str(checkout("main")))
    assert done.code == 0, done.stderr
    added = [line for line in done.stdout.splitlines() if line.startswith("+ main:")]
    assert (
        f"+ main: {SM75} (GPU sm75, CPU avx2 avx512bw avx512dq avx512f avx512vl fma, CUDA 12.8, x86_64-linux)"
        in added
    )
    assert len([line for line in added if "-sm75-" in line]) == 6
    assert "  branch cuda-12_9 (57 variants) is only in A; not compared" in done.stdout
    as_json = run("catalog", "diff", "--json", "builtin", str(checkout("main"))).json()
    assert SM75 in {v["package"] for v in as_json["added"]}  # type: ignore[index]


def test_diff_of_a_catalog_with_itself_is_empty(tmp_path: Path) -> None:
    done = run("catalog", "diff", str(TEAM), str(TEAM))
    assert "no variant added, removed or changed" in done.stdout
    assert RECIPES_DIR  # the shared recipes are not needed here


def test_show_and_plan_read_a_checkout_too(tmp_path: Path) -> None:
    facts = run("probe", "--json", "--gpu", "7.5", "--driver", "560", "--cpuinfo", str(cpuinfo_path(ZEN4)))
    (tmp_path / "host.json").write_text(facts.stdout)
    plan = run("plan", "--json", "--catalog", str(TEAM), str(tmp_path / "host.json"))
    assert plan.code == 0, plan.stderr
    assert SM75 in plan.stdout
    show = run(
        "show", SM75, "--json", "--catalog", str(TEAM), "--gpu", "7.5", "--cpuinfo", str(cpuinfo_path(ZEN4))
    )
    (entry,) = show.json()["variants"]  # type: ignore[index]
    assert (entry["branch"], entry["would_be_chosen_here"], entry["recipe"]) == (
        "team",
        True,
        f"{TEAM}/.flox/pkgs/{SM75}.nix",
    )


@pytest.mark.parametrize("gpu", ["9.0", "12.1", "none"], ids=["h100", "spark", "no-gpu"])
def test_json_from_a_checkout_matches_the_schema(gpu: str) -> None:
    from test_cli import schema_validator

    args = (
        "--json",
        "--explain",
        "--catalog",
        str(checkout("pytorch-2.10")),
        "--gpu",
        gpu,
        "--driver",
        "580.1",
    )
    done = run(
        *args, "--cpuinfo", str(cpuinfo_path(ZEN4 if gpu != "12.1" else "linux-rhel9-neoverse_v2.txt"))
    )
    document = done.json()
    schema_validator("result-v1.json").validate(document)
    if gpu == "9.0":  # 13.0 and 13.1 builds of sm90 avx512: the newer CUDA decides
        assert (document["package"], document["rule"]) == (  # type: ignore[index]
            "torchvision-python313-cuda13_1-sm90-avx512",
            "newest-cuda",
        )
