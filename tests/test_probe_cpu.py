"""The CPU probe against real /proc/cpuinfo files of other machines, and bad --cpuinfo input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tvselect.errors import BadInputError
from tvselect.probe.cpu import MAX_CPUINFO_BYTES, parse_cpuinfo, read_cpuinfo, read_cpuinfo_file

# Real samples shared beside the repository; never copied into it.
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "cpuinfo"

REAL: list[tuple[str, str, str, set[str], set[str]]] = [
    ("ivybridge", "linux-rhel7-ivybridge.txt", "x86_64", {"avx", "sse4_2"}, {"avx2", "fma", "avx512f"}),
    ("haswell", "linux-rhel7-haswell.txt", "x86_64", {"avx2", "fma", "f16c"}, {"avx512f"}),
    (
        "skylake_avx512",
        "linux-rhel7-skylake_avx512.txt",
        "x86_64",
        {"avx512f", "avx512dq", "avx512vl", "avx512bw"},
        {"avx512_vnni", "avx512_bf16"},
    ),
    ("zen4", "linux-rocky8.5-zen4.txt", "x86_64", {"avx512f", "avx512_bf16", "avx512_vnni"}, set()),
    ("neoverse_n1", "linux-amazon-neoverse_n1.txt", "aarch64", {"asimd", "asimddp", "fphp"}, {"sve", "sve2"}),
    ("neoverse_v2", "linux-rhel9-neoverse_v2.txt", "aarch64", {"sve", "sve2", "asimddp"}, set()),
    ("power9", "linux-rhel8-power9.txt", "ppc64le", set(), {"avx"}),
]


@pytest.mark.parametrize(("name", "arch", "has", "lacks"), [c[1:] for c in REAL], ids=[c[0] for c in REAL])
def test_real_cpuinfo(name: str, arch: str, has: set[str], lacks: set[str]) -> None:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    from_file = read_cpuinfo_file(str(path))
    assert from_file.arch == arch
    assert has <= from_file.features
    assert not lacks & from_file.features
    assert from_file.unknown_reason is None
    assert from_file.source == str(path)
    assert parse_cpuinfo(path.read_text(), source=str(path)) == from_file


BAD: list[tuple[str, bytes | None, str]] = [
    ("empty", b"", ": empty"),
    ("blank", b"\n\n  \n", ": empty"),
    ("binary", b"\x7fELF\x02\x01\x01\0\0\0", "binary data"),
    ("not-utf8", b"processor\t: 0\nmodel name\t: \xff\xfe\n", "not UTF-8 text"),
    ("not-cpuinfo", b"hello: world\nthis is a README\n", "not a /proc/cpuinfo file"),
    ("huge", None, "larger than 8 MiB"),
    ("missing", b"", "cannot be read (No such file or directory)"),
]


@pytest.mark.parametrize(("data", "words"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_cpuinfo_file(tmp_path: Path, data: bytes | None, words: str) -> None:
    path = tmp_path / "cpuinfo"
    if words.startswith("cannot be read"):
        path = tmp_path / "absent"
    elif data is None:
        # Sparse: the size is there, the blocks are not, so writing it is instant.
        with open(path, "wb") as handle:
            handle.truncate(MAX_CPUINFO_BYTES + 1024)
    else:
        path.write_bytes(data)
    with pytest.raises(BadInputError) as caught:
        read_cpuinfo_file(str(path))
    message = str(caught.value)
    assert words in message
    assert message.startswith(f"--cpuinfo {path}: ")
    assert "\n" not in message


def test_this_machine_never_raises() -> None:
    facts = read_cpuinfo()
    assert facts.arch
    assert facts.source
