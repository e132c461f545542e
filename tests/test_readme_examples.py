"""The README's worked examples, so that the README cannot drift from what tvselect answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run
from machines import cpuinfo_path

README = Path(__file__).resolve().parents[1] / "README.md"

EXAMPLES = [
    (
        "rtx4090-zen4-bf16",
        "linux-rocky8.5-zen4.txt",
        "8.9",
        "550.54.14",
        "bf16-training",
        "torchvision-python313-cuda12_9-sm89-avx512bf16",
    ),
    (
        "rtx4090-zen4-general",
        "linux-rocky8.5-zen4.txt",
        "8.9",
        "550.54.14",
        "general",
        "torchvision-python313-cuda12_9-sm89-avx512",
    ),
    (
        "spark-driver-570",
        "linux-rhel9-neoverse_v2.txt",
        "12.1",
        "570.86.10",
        "general",
        "torchvision-python313-cuda12_9-sm120-armv9",
    ),
    (
        "spark-driver-580",
        "linux-rhel9-neoverse_v2.txt",
        "12.1",
        "580.65.06",
        "general",
        "torchvision-python313-cuda13_0-sm121-armv9",
    ),
]


@pytest.mark.parametrize(
    "cpu,gpu,driver,workload,package", [e[1:] for e in EXAMPLES], ids=[e[0] for e in EXAMPLES]
)
def test_worked_example(cpu: str, gpu: str, driver: str, workload: str, package: str) -> None:
    done = run(
        "--json",
        "--cpuinfo",
        str(cpuinfo_path(cpu)),
        "--gpu",
        gpu,
        "--driver",
        driver,
        "--workload",
        workload,
    )
    doc = done.json()
    assert isinstance(doc, dict) and doc["package"] == package
    short = package.removeprefix("torchvision-python313-")
    assert package in README.read_text() or f"…-{short.split('-', 1)[1]}" in README.read_text()


def test_cover_worked_example(tmp_path: Path) -> None:
    """The README's `plan --cover` fleet, built as the README builds it, gives the README's table."""
    text = README.read_text()
    hosts = text.split("done <<'HOSTS'\n", 1)[1].split("\nHOSTS\n", 1)[0].splitlines()
    assert len(hosts) == 15
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for line in hosts:
        host, cpu, *gpus = line.split()
        done = run(
            "probe",
            "--json",
            "--cpuinfo",
            str(cpuinfo_path(f"linux-{cpu}.txt")),
            *gpus,
            "--driver",
            "580.65.06",
        )
        assert done.code == 0, done.stderr
        (fleet / f"{host}.json").write_text(done.stdout.replace('"host": null', f'"host": "{host}"'))
    cover = run("plan", "--cover", "--json", str(fleet)).json()["cover"]  # type: ignore[index]
    table = text.split("Builds that serve the fleet\n", 1)[1].split("└", 1)[0]
    rows = [row.split("│") for row in table.splitlines() if row.startswith("│ torchvision-")]
    assert [(r[1].strip(), int(r[4])) for r in rows] == [(b["package"], b["count"]) for b in cover["builds"]]
    totals = cover["totals"]
    summary = (
        f"{totals['builds']} builds serve {totals['served']} hosts; {totals['unserved']} unserved. "
        f"Given up: {totals['off_best_sm']} hosts off their best SM, {totals['lower_isa']} on a lower ISA"
    )
    assert summary in text
    assert cover["proved_optimal"] is True
