"""The benchmark scripts run once in quick mode, so that they cannot rot (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    "script,expected",
    [("startup.py", "json (simulated) / import typer <= 1.3"), ("engine.py", "decisions in")],
    ids=["startup", "engine"],
)
def test_benchmark_runs_in_quick_mode(script: str, expected: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout


def test_plan_fleet_cover_runs_on_a_small_fleet() -> None:
    cpuinfo = Path(__file__).resolve().parents[1].parent / "shared" / "cpuinfo"
    if not cpuinfo.is_dir():
        pytest.skip(f"machine data {cpuinfo} is not here")
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "cover_fleet.py"), "2000", "--kinds", "50"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "tvselect plan --json --cover: 2000 hosts of 50 kinds" in done.stdout
    assert "builds, proved optimal, solver " in done.stdout


def test_big_catalog_and_distinct_drivers_run_small() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "big_catalog.py"), "3000"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "tvselect --json --gpu 9.0 --catalog (3000 variants" in done.stdout
    assert "tvselect list --json --catalog (3000 variants" in done.stdout
    assert done.stdout.count("exit status 0 in ") == 2
    cpuinfo = Path(__file__).resolve().parents[1].parent / "shared" / "cpuinfo"
    if not cpuinfo.is_dir():
        pytest.skip(f"machine data {cpuinfo} is not here")
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "cover_fleet.py"), "2000", "--kinds", "50", "--distinct-drivers"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "2000 hosts of 50 kinds (" in done.stdout and "a driver version each;" in done.stdout
