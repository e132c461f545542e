"""examples/ansible for real: ansible-playbook runs tvselect.fact on localhost, then tvselect plan."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "ansible"
CPUINFO = ROOT.parent / "shared" / "cpuinfo"
BIN = Path(sys.executable).parent
TVSELECT = str(BIN / "tvselect")


def _ansible_playbook() -> str:
    found = BIN / "ansible-playbook"
    if found.is_file():
        return str(found)
    on_path = shutil.which("ansible-playbook")
    if on_path is None:
        pytest.skip("ansible-playbook is not installed (pip install -e '.[test]' installs ansible-core)")
    return on_path


def _hermetic_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        {
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
            "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
            "ANSIBLE_CONFIG": str(tmp_path / "no-ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "0",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_STDOUT_CALLBACK": "default",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
            "ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "collections"),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            **extra,
        }
    )
    return env


@pytest.mark.parametrize(
    ("cpuinfo", "gpu", "status"),
    [
        pytest.param("linux-rhel7-skylake_avx512.txt", "9.0", 0, id="served"),
        pytest.param("linux-rhel8-power9.txt", "none", 3, id="unserved"),
    ],
)
def test_gather_playbook_reports_what_tvselect_reports(
    tmp_path: Path, cpuinfo: str, gpu: str, status: int
) -> None:
    playbook = _ansible_playbook()
    machine = CPUINFO / cpuinfo
    if not machine.is_file():
        pytest.skip(f"machine data {machine} is not here")
    simulate = f"--gpu {gpu} --cpuinfo {machine}"

    facts_d = tmp_path / "facts.d"
    facts_d.mkdir()
    fact = facts_d / "tvselect.fact"
    shutil.copy(EXAMPLES / "tvselect.fact", fact)
    fact.chmod(fact.stat().st_mode | stat.S_IXUSR)
    facts_dir = tmp_path / "collected"
    plan_file = tmp_path / "plan.json"

    done = subprocess.run(
        [
            playbook,
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            json.dumps(
                {
                    "tvselect_fact_path": str(facts_d),
                    "tvselect_facts_dir": str(facts_dir),
                    "tvselect_plan_file": str(plan_file),
                    "tvselect_command": TVSELECT,
                }
            ),
            str(EXAMPLES / "gather.yml"),
        ],
        env=_hermetic_env(tmp_path, TVSELECT=TVSELECT, TVSELECT_FACT_ARGS=simulate),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    direct = subprocess.run(
        [TVSELECT, "--json", *simulate.split()], capture_output=True, text=True, timeout=60, check=False
    )
    assert direct.returncode == status, direct.stderr
    answer = json.loads(direct.stdout)

    # What the fact gave Ansible, as the playbook printed it.
    expected = answer["package"] or "no variant runs here"
    assert f"localhost: {expected}" in done.stdout

    # The facts document Ansible collected is the one tvselect decided from, named after the host.
    collected = json.loads((facts_dir / "localhost.json").read_text())
    assert collected == {**answer["facts"], "host": "localhost"}

    # And the plan Ansible made from it gives that same answer.
    plan = json.loads(plan_file.read_text())
    if answer["package"] is not None:
        assert [(p["package"], p["branch"], p["hosts"]) for p in plan["packages"]] == [
            (answer["package"], answer["branch"], ["localhost"])
        ]
        assert plan["unserved"] == []
    else:
        assert plan["packages"] == []
        assert [(u["codes"], u["hosts"]) for u in plan["unserved"]] == [
            ([r["code"] for r in answer["reasons"]], ["localhost"])
        ]


def test_fact_script_passes_real_failures_on(tmp_path: Path) -> None:
    """Exit 3 is an answer (printed, exit 0); bad input is a failure Ansible must see."""
    done = subprocess.run(
        [str(EXAMPLES / "tvselect.fact")],
        env={**os.environ, "TVSELECT": TVSELECT, "TVSELECT_FACT_ARGS": "--workload nonsense"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--workload" in done.stderr


# ---- install.yml: each host installs the package `plan --cover --assign` gave it ----------

SKYLAKE_86 = ("linux-rhel7-skylake_avx512.txt", "8.6")
HASWELL_80 = ("linux-rhel7-haswell.txt", "8.0")
POWER9 = ("linux-rhel8-power9.txt", "none")
SM80_AVX2 = "torchvision-python313-cuda12_9-sm80-avx2"


def _facts_document(folder: Path, host: str, cpuinfo: str, gpu: str) -> None:
    machine = CPUINFO / cpuinfo
    if not machine.is_file():
        pytest.skip(f"machine data {machine} is not here")
    done = subprocess.run(
        [TVSELECT, "probe", "--json", "--cpuinfo", str(machine), "--gpu", gpu, "--driver", "580.65.06"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (folder / f"{host}.json").write_text(json.dumps({**json.loads(done.stdout), "host": host}))


@pytest.mark.parametrize(
    ("localhost", "org", "expected_calls", "ok", "says"),
    [
        # One sm80/avx2 build serves both hosts: localhost gets it, not its own best (sm86, avx512).
        pytest.param(
            SKYLAKE_86, "acme", [["install", f"acme/{SM80_AVX2}"]], True, "installed", id="assigned"
        ),
        pytest.param(POWER9, "acme", [], True, "no package assigned", id="unserved"),
        pytest.param(SKYLAKE_86, None, [], False, "names no Flox org", id="no-org"),
    ],
)
def test_install_playbook_installs_exactly_the_assigned_package(
    tmp_path: Path,
    localhost: tuple[str, str],
    org: str | None,
    expected_calls: list[list[str]],
    ok: bool,
    says: str,
) -> None:
    playbook = _ansible_playbook()
    facts = tmp_path / "facts"
    facts.mkdir()
    _facts_document(facts, "localhost", *localhost)
    _facts_document(facts, "other-01", *HASWELL_80)
    assignment = tmp_path / "assignment.jsonl"
    planned = subprocess.run(
        [
            TVSELECT,
            "plan",
            "--cover",
            "--assign",
            str(assignment),
            *(["--org", org] if org else []),
            str(facts),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert planned.returncode in (0, 3), planned.stderr
    lines = [json.loads(line) for line in assignment.read_text().splitlines()]
    assert lines[0]["kind"] == "tvselect.assignment"
    assigned = {line["host"]: line for line in lines[1:]}
    assert assigned["other-01"]["package"] == SM80_AVX2

    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    flox = fakebin / "flox"
    log = tmp_path / "flox-calls.jsonl"
    flox.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\nprint('installed')\n"
    )
    flox.chmod(0o755)
    env = _hermetic_env(tmp_path)
    env["PATH"] = f"{fakebin}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        [
            playbook,
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"tvselect_assign_file={assignment}",
            str(EXAMPLES / "install.yml"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert (done.returncode == 0) == ok, done.stdout + done.stderr
    assert says in done.stdout
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    assert calls == expected_calls
    if expected_calls:
        assert ["flox", *expected_calls[0]] == assigned["localhost"]["install"]
