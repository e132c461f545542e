"""tvselect plan: reading fleets of facts documents, planning them, and the command line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from machines import CPUINFO_DIR

from tvselect.base.capability import Capability
from tvselect.catalog.model import Catalog, load_catalog
from tvselect.engine.decision import Options, select
from tvselect.errors import BadInputError, ExitCode
from tvselect.facts.document import to_document
from tvselect.facts.model import CpuFacts, ExcludedGpu, Facts, Gpu, GpuFacts
from tvselect.fleet.documents import Entry, expand_paths, read_entries
from tvselect.fleet.plan import machine_kind, plan
from tvselect.render.plan_json import document as plan_document
from tvselect.render.progress import with_progress

CPUINFO = CPUINFO_DIR
TVSELECT = str(Path(sys.executable).with_name("tvselect"))

HASWELL = "linux-rhel7-haswell.txt"  # x86_64, AVX2
SKYLAKE = "linux-rhel7-skylake_avx512.txt"  # x86_64, AVX-512
POWER9 = "linux-rhel8-power9.txt"  # ppc64le: nothing is built for it
NEOVERSE_N1 = "linux-amazon-neoverse_n1.txt"  # aarch64 without asimddp-class features of newer cores


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _cpu(name: str) -> CpuFacts:
    from tvselect.probe.cpu import read_cpuinfo_file

    path = CPUINFO / name
    if not path.is_file():
        pytest.skip(f"machine data {path} is not here")
    return read_cpuinfo_file(str(path))


def _facts(
    cpu: str, caps: tuple[tuple[int, int], ...] = (), host: str | None = None, uuid: str | None = None
) -> Facts:
    gpus = tuple(
        Gpu(i, "NVIDIA test GPU", uuid, Capability(*cap), 81559, False) for i, cap in enumerate(caps)
    )
    gpu = GpuFacts(
        source="nvml" if gpus else "none",
        gpus=gpus,
        excluded=(),
        driver_version="580.65.06" if gpus else None,
        cuda_driver_version="13.0" if gpus else None,
        unavailable_reason=None if gpus else "no NVIDIA driver",
        notes=(f"probed {host}",),
    )
    return Facts(cpu=_cpu(cpu), gpu=gpu, host=host)


def _line(facts: Facts) -> str:
    return json.dumps(to_document(facts)) + "\n"


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TVSELECT, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


# --- reading -----------------------------------------------------------------------------


def test_jsonl_lines_read_with_their_host_and_line(tmp_path: Path) -> None:
    path = tmp_path / "fleet.jsonl"
    path.write_text(
        _line(_facts(HASWELL, ((9, 0),), "a")) + "\n" + _line(_facts(HASWELL, ((9, 0),), "b")) + "{oops\n"
    )
    entries = list(read_entries((str(path),), io.StringIO()))
    assert [(e.line, e.facts.host if e.facts else None) for e in entries] == [(1, "a"), (3, "b"), (4, None)]
    assert entries[2].error is not None and entries[2].error.startswith("invalid JSON at column 2")
    # The cached read gives exactly what a full parse gives.
    assert entries[1].facts == _facts(HASWELL, ((9, 0),), "b")._replace()


def _with_host(host: Any) -> str:
    return json.dumps({**to_document(_facts(HASWELL, ((9, 0),))), "host": host})


def _host_text_in_a_string() -> str:
    document = to_document(_facts(HASWELL, ((9, 0),), "real"))
    document["cpu"]["model"] = 'x "host": "evil" y'
    return json.dumps(document)


def _nested_host_key_first() -> str:
    document = to_document(_facts(HASWELL, ((9, 0),), "real"))
    cpu = {**document.pop("cpu"), "host": "decoy"}
    return json.dumps({"cpu": cpu, **document})


def _duplicate_host_key() -> str:
    return _with_host("first")[:-1] + ', "host": "last"}'


def _no_host_key() -> str:
    document = to_document(_facts(HASWELL, ((9, 0),)))
    del document["host"]
    return json.dumps(document)


TRICKY_HOSTS = [
    pytest.param(lambda: _with_host('we"ird\\name'), 'we"ird\\name', id="escaped-host"),
    pytest.param(lambda: _with_host(None), None, id="null-host"),
    pytest.param(_no_host_key, None, id="no-host-key"),
    pytest.param(_host_text_in_a_string, "real", id="host-text-in-a-string"),
    pytest.param(_nested_host_key_first, "real", id="nested-host-key-first"),
    pytest.param(_duplicate_host_key, "last", id="duplicate-host-key"),
]


@pytest.mark.parametrize(("make", "expected"), TRICKY_HOSTS)
def test_cached_line_reading_finds_the_top_level_host(
    tmp_path: Path, make: Any, expected: str | None
) -> None:
    text = make()
    assert json.loads(text).get("host") == expected  # what a plain parse says
    path = tmp_path / "f.jsonl"
    path.write_text(text + "\n" + text + "\n")  # twice: the second read may come from the cache
    entries = list(read_entries((str(path),), io.StringIO()))
    assert [e.error for e in entries] == [None, None]
    assert [e.facts.host for e in entries if e.facts] == [expected, expected]
    assert entries[0].facts == entries[1].facts


def _gpus_with(uuids: tuple[str | None, ...], excluded: tuple[str | None, ...]) -> Facts:
    facts = _facts(HASWELL, tuple((9, 0) for _ in uuids), "h")
    gpus = tuple(g._replace(uuid=u) for g, u in zip(facts.gpu.gpus, uuids, strict=True))
    gone = tuple(ExcludedGpu(10 + i, None, u, "CUDA_VISIBLE_DEVICES") for i, u in enumerate(excluded))
    return facts._replace(gpu=facts.gpu._replace(gpus=gpus, excluded=gone))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(("GPU-a", "GPU-b"), ("GPU-c", "GPU-d"), id="gpu-uuids"),
        pytest.param(("GPU-a", None), ("GPU-c", None), id="some-null"),
        pytest.param(('GPU-"q"', "GPU-\\x"), ("GPU-e", "GPU-f"), id="escaped"),
    ],
)
@pytest.mark.parametrize(
    "excluded", [(), ("GPU-x",), (None,)], ids=["none-excluded", "excluded", "excluded-null"]
)
def test_cached_lines_keep_each_hosts_gpu_uuids(
    tmp_path: Path,
    first: tuple[str | None, ...],
    second: tuple[str | None, ...],
    excluded: tuple[str | None, ...],
) -> None:
    # The second host's excluded GPU (if any) has another UUID, or one where the first had null.
    one = _gpus_with(first, excluded)
    two = _gpus_with(second, ("GPU-y",) if excluded else ())
    path = tmp_path / "f.jsonl"
    path.write_text(_line(one) + _line(two) + _line(one))
    entries = list(read_entries((str(path),), io.StringIO()))
    assert [e.facts for e in entries] == [one, two, one]


def test_cached_lines_keep_gpus_when_only_excluded_have_uuids(tmp_path: Path) -> None:
    one, two = _gpus_with((None, None), ("GPU-x",)), _gpus_with((None, None), ("GPU-y",))
    path = tmp_path / "f.jsonl"
    path.write_text(_line(one) + _line(two))
    assert [e.facts for e in read_entries((str(path),), io.StringIO())] == [one, two]


def test_pretty_printed_documents_one_after_another(tmp_path: Path) -> None:
    one = json.dumps(to_document(_facts(HASWELL, ((9, 0),), "a")), indent=2)
    two = json.dumps(to_document(_facts(SKYLAKE, (), "b")), indent=2)
    path = tmp_path / "two.json"
    path.write_text("\n" + one + "\n" + two + "\n")
    entries = list(read_entries((str(path),), io.StringIO()))
    assert [(e.line, e.facts.host if e.facts else None) for e in entries] == [
        (2, "a"),
        (one.count("\n") + 3, "b"),
    ]


def test_pretty_printed_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "schema_version": 1,\n  "cpu": \n}\n')
    [entry] = read_entries((str(path),), io.StringIO())
    assert (entry.line, entry.facts) == (4, None)
    assert entry.error is not None and "line 4" in entry.error


def test_directory_means_its_json_and_jsonl_files_sorted(tmp_path: Path) -> None:
    for name in ("b.jsonl", "a.json", "notes.txt", "c.JSON.bak"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "sub.json").mkdir()
    assert expand_paths((str(tmp_path), "-")) == (str(tmp_path / "a.json"), str(tmp_path / "b.jsonl"), "-")


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        pytest.param((), "no input", id="nothing"),
        pytest.param(("/nonexistent/facts.json",), "no such file", id="missing"),
    ],
)
def test_expand_paths_rejects(paths: tuple[str, ...], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        expand_paths(paths)


# --- planning ----------------------------------------------------------------------------


def test_plan_groups_served_unserved_and_invalid(catalog: Catalog) -> None:
    entries = [
        Entry("f", 1, _facts(HASWELL, ((9, 0),), "h1"), None),
        Entry("f", 2, _facts(SKYLAKE, ((9, 0),), "s1"), None),
        Entry("f", 3, _facts(HASWELL, ((9, 0),), "h2"), None),
        Entry("f", 4, None, "missing field 'cpu'"),
        Entry("f", 5, _facts(HASWELL, ((7, 0),), "v100"), None),
        Entry("f", 6, _facts(POWER9, (), None), None),
        Entry("f", 7, _facts(POWER9, (), "p2"), None),
    ]
    result = plan(entries, catalog, Options())
    packages = [(p.variant.package, p.hosts) for p in result.packages]
    assert packages == [
        ("torchvision-python313-cuda12_9-sm90-avx2", ("h1", "h2")),
        ("torchvision-python313-cuda12_9-sm90-avx512", ("s1",)),
    ]
    unserved = [(u.codes, u.hosts) for u in result.unserved]
    assert unserved == [(("no-variant-for-arch",), ("f:6", "p2")), (("no-build-for-capability",), ("v100",))]
    assert "ppc64le" in result.unserved[0].reason
    assert "compute capability 7.0" in result.unserved[1].reason
    assert [(i.source, i.line, i.error) for i in result.invalid] == [("f", 4, "missing field 'cpu'")]
    t = result.totals
    assert (t.hosts, t.served, t.unserved, t.invalid, t.packages, t.kinds) == (6, 3, 3, 1, 2, 4)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param(Options(), "torchvision-python313-cuda12_9-sm90-avx2", id="default"),
        pytest.param(Options(cpu_only=True), "torchvision-python313-cpu-avx2", id="cpu-only"),
        pytest.param(Options(branch="main"), "torchvision-python313-cuda12_8-sm90-avx2", id="branch"),
    ],
)
def test_plan_applies_options_like_the_main_command(
    catalog: Catalog, options: Options, expected: str
) -> None:
    facts = _facts(HASWELL, ((9, 0),), "h")
    result = plan([Entry("f", 1, facts, None)], catalog, options)
    [package] = result.packages
    assert package.variant == select(facts, catalog, options).variant
    assert package.variant.package == expected


def test_one_decision_per_kind_and_the_same_answer_as_deciding_each_host(catalog: Catalog) -> None:
    kinds = [
        (HASWELL, ((9, 0),)),
        (SKYLAKE, ((9, 0), (9, 0))),
        (SKYLAKE, ((8, 6),)),
        (NEOVERSE_N1, ((9, 0),)),
        (POWER9, ()),
    ]
    entries = [
        # Every host differs in name, GPU UUID and probe notes; none of that changes a decision.
        Entry("f", n + 1, _facts(cpu, caps, f"node{n}", f"GPU-{n:08d}"), None)
        for n, (cpu, caps) in enumerate(kinds[i % len(kinds)] for i in range(200))
    ]
    result = plan(entries, catalog, Options())
    assert result.totals.kinds == len(kinds)
    assert result.totals.hosts == 200
    by_host = {host: p.variant for p in result.packages for host in p.hosts}
    for entry in entries:
        assert entry.facts is not None
        assert by_host.get(entry.facts.host or "") == select(entry.facts, catalog, Options()).variant


def test_machine_kind_forgets_only_host_uuids_and_notes() -> None:
    facts = _facts(HASWELL, ((9, 0),), "n1", "GPU-1")
    kind = machine_kind(facts)
    assert kind == machine_kind(_facts(HASWELL, ((9, 0),), "n2", "GPU-2"))
    assert kind != machine_kind(_facts(HASWELL, ((8, 0),), "n1", "GPU-1"))
    assert (kind.host, kind.gpu.gpus[0].uuid, kind.gpu.notes) == (None, None, ())
    assert kind.gpu.driver_version == facts.gpu.driver_version


def test_plan_document_shape(catalog: Catalog) -> None:
    entries = [
        Entry("f", 1, _facts(HASWELL, ((9, 0),), "h1"), None),
        Entry("f", 2, _facts(POWER9, (), "p1"), None),
        Entry("g", 9, None, "bad"),
    ]
    document = plan_document(plan(entries, catalog, Options()))
    assert document == {
        "schema_version": 1,
        "workload": "general",
        "requested_branch": None,
        "cpu_only": False,
        "packages": [
            {
                "package": "torchvision-python313-cuda12_9-sm90-avx2",
                "branch": "cuda-12_9",
                "gpu_arch": "sm90",
                "cpu_isa": "avx2",
                "hosts": ["h1"],
                "count": 1,
                "published": None,  # no published set given
                "not_at_best": 0,
            }
        ],
        "unserved": [
            {
                "reason": "no variant exists for ppc64le CPUs (builds exist for x86_64 and aarch64 only)",
                "codes": ["no-variant-for-arch"],
                "hosts": ["p1"],
                "count": 1,
            }
        ],
        "invalid": [{"source": "g", "line": 9, "error": "bad"}],
        "totals": {
            "hosts": 2,
            "served": 1,
            "unserved": 1,
            "invalid": 1,
            "packages": 1,
            "kinds": 2,
            "served_published": None,
            "served_not_best": None,
            "missing": None,
        },
    }


@pytest.mark.parametrize(
    ("enabled", "seconds_per_tick", "shown"),
    [
        pytest.param(False, 10.0, False, id="disabled"),
        pytest.param(True, 0.0, False, id="enabled-but-fast"),
        pytest.param(True, 10.0, True, id="enabled-and-slow"),
    ],
)
def test_progress_shows_only_when_slow(
    monkeypatch: pytest.MonkeyPatch, enabled: bool, seconds_per_tick: float, shown: bool
) -> None:
    import tvselect.render.progress

    class Bar:
        def __init__(self) -> None:
            self.completed = 0
            self.stopped = False

        def update(self, task: object, completed: int) -> None:
            self.completed = completed

        def stop(self) -> None:
            self.stopped = True

    bars: list[Bar] = []

    def start(label: str) -> tuple[Bar, None]:
        bars.append(Bar())
        return bars[-1], None

    monkeypatch.setattr(tvselect.render.progress, "_start", start)
    ticks = iter(range(10_000))
    items = with_progress(
        range(1000), enabled=enabled, label="x", clock=lambda: next(ticks) * seconds_per_tick
    )
    assert list(items) == list(range(1000))
    assert [(b.completed, b.stopped) for b in bars] == ([(1000, True)] if shown else [])


def test_progress_bar_really_draws_with_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich draws the bar, with the label and the final count, on stderr, then erases it."""
    import rich.console

    drawn, real = io.StringIO(), rich.console.Console

    def terminal(**kwargs: Any) -> rich.console.Console:
        assert kwargs == {"stderr": True}
        return real(file=drawn, force_terminal=True, width=80, color_system=None)

    monkeypatch.setattr(rich.console, "Console", terminal)
    ticks = iter(range(10_000))
    items = with_progress(range(600), enabled=True, label="reading", clock=lambda: next(ticks) * 10.0)
    assert list(items) == list(range(600))
    lines = [line.rsplit("\r\x1b[2K", 1)[-1] for line in drawn.getvalue().split("\n")]
    bars = [line for line in lines if "reading " in line and "━━━━━━━━━━" in line]
    assert bars and bars[-1].endswith("600/? 0:00:00"), drawn.getvalue()
    assert drawn.getvalue().endswith("\x1b[1A\x1b[2K")  # transient: the bar is erased at the end


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """A directory: two pretty-printed documents, a JSON Lines file with a bad line, and a stray file."""
    folder = tmp_path / "facts"
    folder.mkdir()
    (folder / "a-haswell.json").write_text(
        json.dumps(to_document(_facts(HASWELL, ((9, 0),), "h1")), indent=2)
    )
    (folder / "b-skylake.json").write_text(
        json.dumps(to_document(_facts(SKYLAKE, ((9, 0),), "s1")), indent=2)
    )
    (folder / "c-more.jsonl").write_text(
        _line(_facts(HASWELL, ((9, 0),), "h2"))
        + '{"schema_version": 2}\n'
        + _line(_facts(SKYLAKE, ((9, 0),), "s2"))
    )
    (folder / "README.txt").write_text("not a facts document")
    return folder


@pytest.fixture
def unserved_file(tmp_path: Path) -> Path:
    path = tmp_path / "power.jsonl"
    path.write_text(_line(_facts(POWER9, (), "p1")) + _line(_facts(HASWELL, ((7, 0),), "v1")))
    return path


def test_cli_directory_all_served_with_a_bad_line(fleet: Path) -> None:
    done = _run("plan", "--json", str(fleet))
    assert done.returncode == ExitCode.OK, done.stderr
    document = json.loads(done.stdout)
    assert {p["package"]: p["hosts"] for p in document["packages"]} == {
        "torchvision-python313-cuda12_9-sm90-avx2": ["h1", "h2"],
        "torchvision-python313-cuda12_9-sm90-avx512": ["s1", "s2"],
    }
    assert document["invalid"] == [
        {
            "source": str(fleet / "c-more.jsonl"),
            "line": 2,
            "error": "schema_version is 2; this tvselect reads version 1",
        }
    ]
    assert f"{fleet / 'c-more.jsonl'}:2: skipped: schema_version is 2" in done.stderr
    assert document["totals"] == {
        "hosts": 4,
        "served": 4,
        "unserved": 0,
        "invalid": 1,
        "packages": 2,
        "kinds": 2,
        "served_published": None,
        "served_not_best": None,
        "missing": None,
    }


@pytest.mark.parametrize(
    ("args", "stdin", "code", "stderr_has"),
    [
        pytest.param(("{fleet}",), None, ExitCode.OK, "skipped", id="all-served"),
        pytest.param(("{fleet}", "{unserved}"), None, ExitCode.NO_MATCH, "", id="some-unserved"),
        pytest.param(("-",), "{unserved_text}", ExitCode.NO_MATCH, "", id="stdin"),
        pytest.param(
            ("/nonexistent/dir",), None, ExitCode.BAD_INPUT, "no such file or directory", id="missing-path"
        ),
        pytest.param((), None, ExitCode.BAD_INPUT, "no input", id="no-path"),
        pytest.param(
            ("{empty}",), None, ExitCode.BAD_INPUT, "no *.json or *.jsonl file", id="empty-directory"
        ),
        pytest.param(("-",), "", ExitCode.BAD_INPUT, "no readable facts document", id="empty-stdin"),
        pytest.param(("-",), "[]\nnot json\n", ExitCode.BAD_INPUT, "<stdin>:1: skipped", id="only-invalid"),
        pytest.param(("--workload", "nope", "-"), "", ExitCode.BAD_INPUT, "--workload", id="bad-workload"),
    ],
)
@pytest.mark.parametrize("json_mode", [True, False], ids=["json", "human"])
def test_cli_exit_status(
    fleet: Path,
    unserved_file: Path,
    tmp_path: Path,
    args: tuple[str, ...],
    stdin: str | None,
    code: int,
    stderr_has: str,
    json_mode: bool,
) -> None:
    (tmp_path / "empty").mkdir()
    values = {"fleet": str(fleet), "unserved": str(unserved_file), "empty": str(tmp_path / "empty")}
    argv = [a.format(**values) for a in args]
    text = None if stdin is None else stdin.format(unserved_text=unserved_file.read_text())
    done = _run("plan", *(["--json"] if json_mode else []), *argv, stdin=text)
    assert done.returncode == code, done.stderr
    assert stderr_has in done.stderr
    if code in (ExitCode.OK, ExitCode.NO_MATCH):
        if json_mode:
            assert json.loads(done.stdout)["schema_version"] == 1
        else:
            assert "hosts (" in done.stdout and not done.stdout.lstrip().startswith("{")
    else:
        assert done.stdout == ""


def test_cli_human_output(fleet: Path, unserved_file: Path) -> None:
    done = _run("plan", str(fleet), str(unserved_file))
    assert done.returncode == ExitCode.NO_MATCH
    out = done.stdout
    assert "Packages to build" in out and "torchvision-python313-cuda12_9-sm90-avx512" in out
    assert "Hosts with no runnable variant" in out
    assert "no variant exists for ppc64le CPUs" in out
    assert "no build exists for compute capability 7.0" in out
    assert "6 hosts (4 kinds of machine): 4 served by 2 packages, 2 unserved" in out


def test_cli_reads_what_probe_prints(tmp_path: Path) -> None:
    """The documents come from `tvselect probe --json` itself, as a fleet would collect them."""
    cpuinfo = CPUINFO / SKYLAKE
    if not cpuinfo.is_file():
        pytest.skip(f"machine data {cpuinfo} is not here")
    probed = _run("probe", "--json", "--cpuinfo", str(cpuinfo), "--gpu", "9.0")
    assert probed.returncode == 0, probed.stderr
    (tmp_path / "node.json").write_text(probed.stdout)
    chosen = json.loads(_run("--json", "--cpuinfo", str(cpuinfo), "--gpu", "9.0").stdout)["package"]
    done = _run("plan", "--json", str(tmp_path))
    assert [p["package"] for p in json.loads(done.stdout)["packages"]] == [chosen]


def test_json_path_does_not_import_rich(fleet: Path) -> None:
    code = (
        "import sys; from tvselect.cli.main import main; rc = main(['plan', '--json', sys.argv[1]]); "
        "rich = any(m.split('.')[0] == 'rich' for m in sys.modules); "
        "sys.stderr.write('rich imported\\n' if rich else 'clean\\n'); "
        "sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(fleet)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith("clean")


@pytest.mark.scale
def test_scale_100k_hosts_from_one_jsonl_file(tmp_path: Path) -> None:
    """100,000 hosts of five kinds, each in the right group (time is measured by hand, not asserted)."""
    kinds = [
        (HASWELL, ((9, 0),)),
        (SKYLAKE, ((9, 0),)),
        (NEOVERSE_N1, ((9, 0),)),
        (POWER9, ()),
        (SKYLAKE, ((7, 0),)),
    ]
    templates = [to_document(_facts(cpu, caps)) for cpu, caps in kinds]
    path = tmp_path / "fleet.jsonl"
    with path.open("w") as out:
        for n in range(100_000):
            out.write(json.dumps({**templates[n % 5], "host": f"node-{n:06d}"}) + "\n")
    done = _run("plan", "--json", str(path))
    assert done.returncode == ExitCode.NO_MATCH, done.stderr
    document = json.loads(done.stdout)
    assert document["totals"] == {
        "hosts": 100_000,
        "served": 60_000,
        "unserved": 40_000,
        "invalid": 0,
        "packages": 3,
        "kinds": 5,
        "served_published": None,
        "served_not_best": None,
        "missing": None,
    }
    for group in document["packages"] + document["unserved"]:
        assert group["count"] == len(group["hosts"]) == 20_000
        first = int(group["hosts"][0].removeprefix("node-"))
        assert all(int(h.removeprefix("node-")) % 5 == first for h in group["hosts"])
