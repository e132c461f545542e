"""`tvselect probe --json` on one machine, `tvselect --facts -` elsewhere: the same decision."""

from __future__ import annotations

import json

import pytest
from cli_helpers import run
from machines import CPUINFO_DIR, cpuinfo_path

FILES = sorted(p.name for p in CPUINFO_DIR.glob("*.txt")) if CPUINFO_DIR.is_dir() else ["absent.txt"]
GPUS = [(), ("9.0",), ("8.0", "8.6"), ("7.0",)]


@pytest.mark.parametrize("gpus", GPUS, ids=["nogpu", "sm90", "sm80+sm86", "sm70"])
@pytest.mark.parametrize("name", FILES)
def test_probe_then_facts_gives_the_same_decision(name: str, gpus: tuple[str, ...]) -> None:
    path = str(cpuinfo_path(name))
    simulated = [a for g in gpus for a in ("--gpu", g)] or ["--gpu", "none"]
    probe = run("probe", "--json", "--cpuinfo", path, *simulated, "--driver", "550.54.14")
    assert probe.code == 0, probe.stderr
    direct = run("--json", "--cpuinfo", path, *simulated, "--driver", "550.54.14")
    replayed = run("--json", "--facts", "-", stdin=probe.stdout)
    assert replayed.code == direct.code, replayed.stderr
    a, b = direct.json(), replayed.json()
    assert isinstance(a, dict) and isinstance(b, dict)
    for key in ("status", "package", "branch", "gpu_match", "rule", "reasons", "alternatives"):
        assert a[key] == b[key], key
    assert a["facts"] == b["facts"] == json.loads(probe.stdout)
