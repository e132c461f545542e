"""Choosing among what an organisation has published: --available lists, and flox asked through a fake flox."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cli_helpers import run
from fakeflox import is_running, make_org_flox
from hypothesis import given, settings
from hypothesis import strategies as st
from machines import cpuinfo_path
from test_cli import schema_validator

from tvselect.base.shipped import shipped_table
from tvselect.errors import BadInputError
from tvselect.flox.published import is_published, package_names, parse_available, parse_show

ZEN4 = "linux-rocky8.5-zen4.txt"
HASWELL = "linux-rhel7-haswell.txt"
P = "torchvision-python313-"
SM90 = P + "cuda12_9-sm90-"
# The build-torchvision repository's name today for the built-in catalog's branch cuda-12_9.
REPO_BRANCH = shipped_table("branch-names")["repository_branch"].get("cuda-12_9", "cuda-12_9")
CPU = P + "cpu-"

# ---- parse_available ------------------------------------------------------------------------

LIST_CASES = [
    ("names", "a-1\nb.2\n", None, {"a-1", "b.2"}),
    ("comments and blanks", "# published by CI\n\n  a  # the first\n\t\nb\n", None, {"a", "b"}),
    ("org prefix", "acme/a\nacme/b\n", "acme", {"a", "b"}),
    ("other org left out", "acme/a\nother/b\nc\n", "acme", {"a", "c"}),
    ("prefix kept without --org", "acme/a\nother/b\n", None, {"a", "b"}),
    ("versions", "acme/a@0.24.0\nb@0.23.0\n", "acme", {"a@0.24.0", "b@0.23.0"}),
    ("crlf", "a\r\nb\r\n", None, {"a", "b"}),
    ("nothing but comments", "# none yet\n", None, set()),
]


@pytest.mark.parametrize("text,org,expected", [c[1:] for c in LIST_CASES], ids=[c[0] for c in LIST_CASES])
def test_parse_available_lists(text: str, org: str | None, expected: set[str]) -> None:
    assert parse_available(text, org) == frozenset(expected)


# The shape of `flox search --json` (PackageInfoSearch items of the catalog API, flox 1.14.1).
SEARCH_JSON = json.dumps(
    [
        {
            "attr_path": "torchvision-python313-cpu-avx2",
            "catalog": "acme",
            "pkg_path": "acme/torchvision-python313-cpu-avx2",
            "name": "torchvision-python313-cpu-avx2-0.24.0",
            "pname": "torchvision-python313-cpu-avx2",
            "version": "0.24.0",
            "description": None,
            "stabilities": [],
            "system": "x86_64-linux",
            "deprecation": None,
        },
        {
            "attr_path": "hello",
            "catalog": "nixpkgs",
            "pkg_path": "hello",
            "name": "hello-2.12.3",
            "pname": "hello",
            "version": "2.12.3",
            "description": "Program that produces a familiar, friendly greeting",
            "stabilities": [],
            "system": "x86_64-linux",
            "deprecation": None,
        },
        {"pkg_path": "other/x", "catalog": "other", "version": None},
    ]
)


def test_parse_available_reads_flox_search_json() -> None:
    assert parse_available(SEARCH_JSON, "acme") == {"torchvision-python313-cpu-avx2@0.24.0", "hello@2.12.3"}


BAD_CASES = [
    ("spaces", "a b\n", "line 1: 'a b' is not a package name"),
    ("two slashes", "ok\na/b/c\n", "line 2: 'a/b/c' is not a package name"),
    ("empty version", "a@\n", "line 1"),
    ("json object", '{"a": 1}', "not a package name"),
    ("json not array of objects", "[1, 2]", "item 0 has no package name"),
    ("broken json", '[{"pkg_path": "a"', "invalid JSON at line 1"),
]


@pytest.mark.parametrize("text,words", [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_parse_available_names_the_bad_line(text: str, words: str) -> None:
    with pytest.raises(BadInputError, match=r"^--available") as caught:
        parse_available(text)
    assert words in str(caught.value)


NAMES = st.from_regex(r"[a-z0-9][a-z0-9_.+-]{0,20}", fullmatch=True)


@given(st.lists(st.tuples(NAMES, st.sampled_from(["", "acme/", "other/"]), st.booleans()), max_size=20))
def test_parse_available_reads_back_what_was_written(rows: list[tuple[str, str, bool]]) -> None:
    text = "".join(f"{prefix}{name}{'  # note' if comment else ''}\n\n" for name, prefix, comment in rows)
    expected = {name for name, prefix, _ in rows if prefix != "other/"}
    assert parse_available(text, "acme") == expected


PUBLISHED_CASES = [
    ("bare name, any version", "a", None, {"a"}, True),
    ("bare name serves a pin", "a", "0.24.0", {"a"}, True),
    ("pinned and listed", "a", "0.24.0", {"a@0.24.0"}, True),
    ("pinned, other version", "a", "0.24.0", {"a@0.23.0"}, False),
    ("unpinned, a version listed", "a", None, {"a@0.23.0"}, True),
    ("prefix is not a name", "a", None, {"ab", "a-b@1"}, False),
]


@pytest.mark.parametrize(
    "package,version,available,expected",
    [c[1:] for c in PUBLISHED_CASES],
    ids=[c[0] for c in PUBLISHED_CASES],
)
def test_is_published(package: str, version: str | None, available: set[str], expected: bool) -> None:
    assert is_published(package, version, frozenset(available)) is expected


def test_package_names_drop_versions() -> None:
    assert package_names(frozenset({"a@1", "a@2", "b"})) == {"a", "b"}


SHOW = """acme/p - TorchVision
Catalog: acme
Latest:  acme/p@0.24.0
Outputs: out* (* installed by default)
Systems: x86_64-linux

Other versions:
    acme/p@0.24.0    (x86_64-linux only)
    acme/p@0.23.0
"""


@pytest.mark.parametrize(
    "text,expected",
    [
        (SHOW, {"0.24.0", "0.23.0"}),
        ("acme/p - x\n", set()),
        ("acme/q - x\n", None),
        ("<html>", None),
        ("", None),
    ],
    ids=["flox show", "no versions", "another package", "garbage", "empty"],
)
def test_parse_show(text: str, expected: set[str] | None) -> None:
    assert parse_show(text, "acme/p") == (None if expected is None else frozenset(expected))


# ---- the main command: three workloads, a GPU and a CPU-only machine ----------------------------

GPU = ("--gpu", "9.0", "--driver", "580.65.06")
NO_GPU = ("--gpu", "none")
WORKLOAD_CASES = [
    ("general-gpu", "general", GPU, SM90 + "avx512", SM90 + "avx2"),
    ("bf16-gpu", "bf16-training", GPU, SM90 + "avx512bf16", SM90 + "avx512"),
    ("int8-gpu", "int8-inference", GPU, SM90 + "avx512vnni", SM90 + "avx512"),
    ("general-cpu", "general", NO_GPU, CPU + "avx512", CPU + "avx2"),
    ("bf16-cpu", "bf16-training", NO_GPU, CPU + "avx512bf16", CPU + "avx512"),
    ("int8-cpu", "int8-inference", NO_GPU, CPU + "avx512vnni", CPU + "avx512"),
]


@pytest.mark.parametrize(
    "workload,machine,best,second", [c[1:] for c in WORKLOAD_CASES], ids=[c[0] for c in WORKLOAD_CASES]
)
def test_flox_published_set_missing_the_best(
    tmp_path: Path, workload: str, machine: tuple[str, ...], best: str, second: str
) -> None:
    """acme lacks the best package: the second is chosen, explained, installed and shown in the JSON."""
    flox = make_org_flox(tmp_path, {second: ["0.24.0"]})
    cpu = ("--cpuinfo", str(cpuinfo_path(ZEN4)), "--workload", workload)
    # --install acts on this machine's own facts only; --dry-run still asks flox what acme publishes.
    done = run("--json", "--install", "--dry-run", "--org", "acme", *machine, *cpu, env=flox.env())
    assert done.code == 0, done.stderr
    doc = done.json()
    assert isinstance(doc, dict)
    schema_validator("result-v1.json").validate(doc)
    spec = f"acme/{second}@0.24.0" if second.startswith(CPU) else f"acme/{second}"
    assert (doc["package"], doc["best"], doc["published"], doc["unpublished_better"]) == (
        second,
        best,
        True,
        [best],
    )
    assert doc["install"] == ["flox", "install", spec]
    assert doc["reasons"][0]["code"] == "published-not-best"
    assert doc["reasons"][0]["text"] == (
        f"acme has not published {best} (the best for this machine); installing {second}, the best it has published"
    )
    assert doc["reasons"][1]["code"].startswith("lost-")
    assert flox.calls() == [["show", f"acme/{best}"], ["show", f"acme/{second}"]]


@pytest.mark.parametrize(
    "workload,machine,best,second", [c[1:] for c in WORKLOAD_CASES], ids=[c[0] for c in WORKLOAD_CASES]
)
def test_available_list_missing_the_best(
    tmp_path: Path, workload: str, machine: tuple[str, ...], best: str, second: str
) -> None:
    """The same answer from an --available list (read from stdin here), flox not asked."""
    flox = make_org_flox(tmp_path, {})
    cpu = ("--cpuinfo", str(cpuinfo_path(ZEN4)), "--workload", workload)
    listing = f"# what acme has published\nacme/{second}\nother/{best}\n"
    done = run("--json", "--org", "acme", "--available", "-", *machine, *cpu, env=flox.env(), stdin=listing)
    assert done.code == 0, done.stderr
    doc = done.json()
    assert isinstance(doc, dict)
    assert (doc["package"], doc["best"], doc["published"], doc["unpublished_better"]) == (
        second,
        best,
        True,
        [best],
    )
    assert "choosing " + second in doc["reasons"][0]["text"]
    assert flox.calls() == []


def test_human_answer_says_both_and_what_to_build(tmp_path: Path) -> None:
    listing = tmp_path / "published.txt"
    listing.write_text(f"{SM90}avx2\n")
    done = run("--org", "acme", "--available", str(listing), *GPU, "--cpuinfo", str(cpuinfo_path(ZEN4)))
    assert done.code == 0, done.stderr
    assert f"Choice  {SM90}avx2" in done.stdout
    assert (
        f"acme has not published {SM90}avx512 (the best for this machine); choosing {SM90}avx2" in done.stdout
    )
    assert f"git checkout {REPO_BRANCH} && flox build {SM90}avx512" in done.stdout
    assert f"flox publish -o acme {SM90}avx512" in done.stdout
    assert f"Install  flox install acme/{SM90}avx2" in done.stdout


def test_best_published_changes_nothing(tmp_path: Path) -> None:
    flox = make_org_flox(tmp_path, {SM90 + "avx512": ["0.24.0"]})
    done = run("--json", "--org", "acme", *GPU, "--cpuinfo", str(cpuinfo_path(ZEN4)), env=flox.env())
    doc = done.json()
    assert isinstance(doc, dict)
    assert (done.code, doc["package"], doc["best"], doc["published"], doc["unpublished_better"]) == (
        0,
        SM90 + "avx512",
        SM90 + "avx512",
        True,
        [],
    )
    assert doc["reasons"][0]["code"] == "chose-exact"
    assert flox.calls() == [["show", f"acme/{SM90}avx512"]]


def test_pinned_cpu_build_needs_its_version_published(tmp_path: Path) -> None:
    """Only main's cpu-avx2 (TorchVision 0.23.0) is published: cuda-12_9's avx2 and avx are missing."""
    flox = make_org_flox(tmp_path, {CPU + "avx2": ["0.23.0"]})
    done = run(
        "--json",
        "--install",
        "--dry-run",
        "--org",
        "acme",
        *NO_GPU,
        "--cpuinfo",
        str(cpuinfo_path(HASWELL)),
        env=flox.env(),
    )
    assert done.code == 0, done.stderr
    doc = done.json()
    assert isinstance(doc, dict)
    assert (doc["package"], doc["branch"], doc["unpublished_better"]) == (
        CPU + "avx2",
        "main",
        [CPU + "avx2", CPU + "avx"],
    )
    assert doc["install"] == ["flox", "install", f"acme/{CPU}avx2@0.23.0"]
    assert all(call[0] == "show" for call in flox.calls())


def test_nothing_published_installs_nothing_and_says_what_to_build(tmp_path: Path) -> None:
    flox = make_org_flox(tmp_path, {"torchvision-python313-cuda12_9-sm120-avx512": ["0.24.0"]})
    args = ("--install", "--dry-run", "--org", "acme", *GPU, "--cpuinfo", str(cpuinfo_path(ZEN4)))
    done = run(*args, env=flox.env())
    assert done.code == 3, done.stderr
    calls = flox.calls()
    assert len(calls) == 8 and all(call[0] == "show" for call in calls)  # at most 8 queries, no install
    assert calls[0] == ["show", f"acme/{SM90}avx512"]
    assert "nothing was installed" in done.stderr
    assert (
        f"git checkout {REPO_BRANCH} && flox build {SM90}avx512; flox publish -o acme {SM90}avx512"
        in done.stderr
    )
    assert "acme has published none of the 8 variants that run here" in done.stdout


SM80 = P + "cuda12_9-sm80-avx512"


def test_flox_is_asked_about_8_candidates_at_most(tmp_path: Path) -> None:
    """On an 8.6 GPU, acme's sm80 build ranks 9th of 16: flox is not asked that far; the list finds it."""
    flox = make_org_flox(tmp_path, {SM80: ["0.24.0"]})
    machine = ("--gpu", "8.6", "--driver", "580.65.06", "--cpuinfo", str(cpuinfo_path(ZEN4)))
    done = run("--json", "--org", "acme", *machine, env=flox.env())
    assert done.code == 3
    doc = done.json()
    assert isinstance(doc, dict)
    assert (doc["published"], len(doc["unpublished_better"]), len(flox.calls())) == (False, 8, 8)
    assert (
        "(tvselect asks flox about 8 at most; --available FILE can list them all)"
        in doc["reasons"][0]["text"]
    )
    listed = run("--json", "--org", "acme", "--available", "-", *machine, env=flox.env(), stdin=SM80 + "\n")
    doc = listed.json()
    assert isinstance(doc, dict)
    assert (listed.code, doc["package"], doc["gpu_match"], len(doc["unpublished_better"])) == (
        0,
        SM80,
        "compatible",
        8,
    )


def test_nothing_published_in_a_list_reports_every_runnable_variant(tmp_path: Path) -> None:
    done = run(
        "--json",
        "--available",
        "-",
        *NO_GPU,
        "--cpuinfo",
        str(cpuinfo_path(HASWELL)),
        stdin="# nothing yet\n",
    )
    assert done.code == 3
    doc = done.json()
    assert isinstance(doc, dict)
    assert (doc["package"], doc["published"], doc["install"]) == (CPU + "avx2", False, None)
    assert doc["unpublished_better"] == [CPU + "avx2", CPU + "avx", CPU + "avx2"]
    assert (
        doc["reasons"][0]["text"]
        == "the list in standard input has published none of the 3 variants that run here"
    )


def test_without_flox_or_list_nothing_changes(tmp_path: Path) -> None:
    done = run(
        "--json", "--org", "acme", *GPU, "--cpuinfo", str(cpuinfo_path(ZEN4)), env={"PATH": str(tmp_path)}
    )
    doc = done.json()
    assert isinstance(doc, dict)
    assert (done.code, doc["package"], doc["published"], doc["unpublished_better"]) == (
        0,
        SM90 + "avx512",
        None,
        [],
    )


# ---- flox failing -------------------------------------------------------------------------------

FAILURE_CASES = [
    ("not-logged-in", "You are not logged in to FloxHub", "not logged in or not allowed"),
    ("no-network", "Communication Error: error sending request for url", "could not reach its catalog"),
    ("garbage", "<html>502 Bad Gateway</html>", "answered something tvselect cannot read"),
    ("huge", "xxxxxxxx", "answered something tvselect cannot read"),
]


@pytest.mark.parametrize("mode,flox_words,ours", FAILURE_CASES, ids=[c[0] for c in FAILURE_CASES])
def test_flox_failure_is_exit_4_with_its_words_and_nothing_installed(
    tmp_path: Path, mode: str, flox_words: str, ours: str
) -> None:
    flox = make_org_flox(tmp_path, {SM90 + "avx2": ["0.24.0"]}, mode=mode)
    done = run(
        "--json",
        "--install",
        "--dry-run",
        "--org",
        "acme",
        *GPU,
        "--cpuinfo",
        str(cpuinfo_path(ZEN4)),
        env=flox.env(),
    )
    assert done.code == 4
    assert done.stdout == ""
    assert flox_words in done.stderr and ours in done.stderr
    assert len(done.stderr) < 2000  # flox's words, not its 10 MiB
    assert flox.calls() == [["show", f"acme/{SM90}avx512"]]  # stopped at once, nothing installed


def test_hung_flox_is_stopped_within_the_bound_and_gone(tmp_path: Path) -> None:
    flox = make_org_flox(tmp_path, {}, mode="hang")
    started = time.monotonic()
    done = run(
        "--org",
        "acme",
        *GPU,
        "--cpuinfo",
        str(cpuinfo_path(ZEN4)),
        env={**flox.env(), "TVSELECT_FLOX_TIMEOUT": "1"},
    )
    elapsed = time.monotonic() - started
    assert done.code == 4
    assert "did not answer within 1 s and was stopped" in done.stderr
    assert elapsed < 1 + 1 + 5  # the timeout, the drain, and start-up on a loaded machine
    pids = flox.process_ids()
    assert len(pids) == 2  # the fake flox and the child it started
    assert not any(is_running(pid) for pid in pids)


# ---- bad input is checked before anything acts -------------------------------------------------


def test_bad_available_file_is_exit_2_before_flox_runs(tmp_path: Path) -> None:
    flox = make_org_flox(tmp_path, {SM90 + "avx512": ["0.24.0"]})
    listing = tmp_path / "published.txt"
    listing.write_text("acme/ok\nnot a name\n")
    done = run("--install", "--dry-run", "--org", "acme", "--available", str(listing), *GPU, env=flox.env())
    assert done.code == 2
    assert f"--available {listing} line 2: 'not a name' is not a package name" in done.stderr
    assert flox.calls() == []


@pytest.mark.parametrize(
    "content,words",
    [(b"", "empty"), (b"\x00\x01", "binary data"), (None, "cannot be read")],
    ids=["empty", "binary", "missing"],
)
def test_unreadable_available_file(tmp_path: Path, content: bytes | None, words: str) -> None:
    listing = tmp_path / "published.txt"
    if content is not None:
        listing.write_bytes(content)
    done = run("--available", str(listing), *GPU)
    assert done.code == 2
    assert words in done.stderr and "Traceback" not in done.stderr


# ---- plan ---------------------------------------------------------------------------------------


def _fleet(tmp_path: Path) -> Path:
    """Three hosts: two H100 machines (zen4) and one CPU-only haswell, as facts documents."""
    lines = []
    for host, cpuinfo, gpu in (("h1", ZEN4, "9.0"), ("h2", ZEN4, "9.0"), ("c1", HASWELL, "none")):
        done = run(
            "probe", "--json", "--cpuinfo", str(cpuinfo_path(cpuinfo)), "--gpu", gpu, "--driver", "580.65.06"
        )
        assert done.code == 0, done.stderr
        doc = done.json()
        assert isinstance(doc, dict)
        doc["host"] = host
        lines.append(json.dumps(doc))
    fleet = tmp_path / "fleet.jsonl"
    fleet.write_text("\n".join(lines) + "\n")
    return fleet


def test_plan_marks_published_and_counts_hosts_not_at_their_best(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path)
    listing = tmp_path / "published.txt"
    listing.write_text(f"acme/{SM90}avx2\n")
    done = run("plan", "--json", "--org", "acme", "--available", str(listing), str(fleet))
    assert done.code == 0, done.stderr
    doc = done.json()
    assert isinstance(doc, dict)
    marks = {(p["package"], p["published"], p["not_at_best"]) for p in doc["packages"]}
    assert marks == {(SM90 + "avx512", False, 2), (CPU + "avx2", False, 0)}
    totals = doc["totals"]
    assert (totals["served_published"], totals["served_not_best"], totals["missing"]) == (0, 2, 2)
    human = run("plan", "--available", str(listing), str(fleet))
    assert "0 hosts served by published packages today; 2 served, not at their best" in human.stdout


def test_plan_missing_lists_exactly_the_packages_to_build(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path)
    listing = tmp_path / "published.txt"
    listing.write_text(f"{CPU}avx2@0.24.0\n")
    done = run("plan", "--missing", "--available", str(listing), str(fleet))
    assert (done.code, done.stdout) == (0, f"{SM90}avx512\n")


def test_plan_missing_asks_flox(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path)
    flox = make_org_flox(tmp_path, {SM90 + "avx512": ["0.24.0"]})
    done = run("plan", "--missing", "--org", "acme", str(fleet), env=flox.env())
    assert (done.code, done.stdout) == (0, f"{CPU}avx2\n")
    asked = [call[1] for call in flox.calls()]
    assert f"acme/{SM90}avx512" in asked and len(asked) == len(set(asked)) <= 8  # each package asked once


@pytest.mark.parametrize(
    "args,words",
    [
        (("--missing",), "--missing needs --available FILE or --org ORG"),
        (("--missing", "--json", "--available", "-"), "leave out --json"),
        (("--org", "-x"), "an org is letters"),
    ],
    ids=["missing-alone", "missing-json", "bad-org"],
)
def test_plan_bad_usage(tmp_path: Path, args: tuple[str, ...], words: str) -> None:
    done = run("plan", *args, str(tmp_path), stdin="")
    assert done.code == 2
    assert words in done.stderr


# ---- the choice is the engine's ranking, filtered ------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_choice_is_the_first_published_in_the_engines_ranking(data: st.DataObject) -> None:
    from machines import AVX512, cpu, machine

    from tvselect.app.published import Source, choose_published
    from tvselect.catalog.model import load_catalog
    from tvselect.engine.decision import Options, runnable_ranked, select

    catalog = load_catalog(None)
    caps = data.draw(st.sampled_from([("8.0",), ("8.6",), ("8.9",), ("9.0",), ("12.0",), ()]), label="gpu")
    facts = machine(cpu(AVX512), *caps)
    options = Options(workload=data.draw(st.sampled_from(["general", "bf16-training", "int8-inference"])))
    ranked = runnable_ranked(facts, catalog, options)
    assert ranked and ranked[0] == select(facts, catalog, options).variant  # the engine's own ranking
    names = sorted({v.package for v in catalog.variants})
    available = frozenset(data.draw(st.lists(st.sampled_from(names), max_size=10), label="published"))
    choice = choose_published(ranked, catalog, Source("acme", available, "acme", None, 0.0), {})
    assert choice is not None and choice.best == ranked[0]
    first = next((v for v in ranked if v.package in available), None)
    assert choice.chosen == first
    cut = ranked.index(first) if first is not None else len(ranked)
    assert choice.unpublished_better == ranked[:cut]


def test_plan_org_when_flox_is_not_logged_in_is_exit_4(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path)
    flox = make_org_flox(tmp_path, {}, mode="not-logged-in")
    done = run("plan", "--missing", "--org", "acme", str(fleet), env=flox.env())
    assert (done.code, done.stdout) == (4, "")
    assert "401 Unauthorized: authentication required" in done.stderr
