"""The Capability value: parsing, ordering, `.sm` and `str`, over the capabilities NVIDIA shipped."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tvselect.base.capability import Capability, parse_capability
from tvselect.base.hardware import known_capabilities

KNOWN = sorted(known_capabilities())
CAPS = st.builds(Capability, st.integers(1, 99), st.integers(0, 9))


@pytest.mark.parametrize("cap", KNOWN, ids=str)
def test_every_known_capability_reads_back_from_each_spelling(cap: Capability) -> None:
    for text in (str(cap), cap.sm, f"sm_{cap.major}{cap.minor}", f"{cap.major}{cap.minor}", cap.sm.upper()):
        assert parse_capability(text) == cap, text


@pytest.mark.parametrize(
    ("cap", "sm", "text"),
    [
        (Capability(9, 0), "sm90", "9.0"),
        (Capability(10, 3), "sm103", "10.3"),
        (Capability(12, 1), "sm121", "12.1"),
    ],
    ids=["hopper", "blackwell-ultra", "gb10"],
)
def test_sm_and_str(cap: Capability, sm: str, text: str) -> None:
    assert (cap.sm, str(cap), f"{cap}") == (sm, text, text)


@given(CAPS, CAPS)
def test_order_is_major_then_minor(a: Capability, b: Capability) -> None:
    assert (a < b) == ((a.major, a.minor) < (b.major, b.minor))
    assert (a == b) == (hash(a) == hash(b) and str(a) == str(b))


@given(CAPS)
def test_str_parses_back_and_the_value_is_frozen(cap: Capability) -> None:
    assert parse_capability(str(cap)) == cap
    with pytest.raises(AttributeError):
        cap.major = 0  # type: ignore[misc]


def test_ten_sorts_after_nine_not_between_one_and_two() -> None:
    assert sorted([Capability(10, 0), Capability(9, 0), Capability(1, 2)]) == [
        Capability(1, 2),
        Capability(9, 0),
        Capability(10, 0),
    ]
