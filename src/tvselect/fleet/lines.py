"""Reading the lines of a JSON Lines fleet fast: each kind of line is parsed once.

A line's text with the values of its `"host"` and `"uuid"` keys cut out is the cache key of
what it parses to, so `json.loads` and `from_document` run once per kind of machine instead
of once per host. Where each cut-out value goes is only trusted after the key is parsed
with numbered placeholders in their place (see LineReader).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tvselect.base.capability import parse_version
from tvselect.errors import BadInputError
from tvselect.facts.document import from_document
from tvselect.facts.model import Facts, Gpu, GpuFacts

# A JSON string token (exactly what json.loads accepts: no raw control characters, known
# escapes only) or null, after a key and its colon. Written as runs of plain characters
# between escapes, it matches in one pass and never backtracks; the key name is the
# pattern's literal prefix, which the regex engine finds fast.
_VALUE = r'("[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"|null)'
_UUID = re.compile(r'("uuid"[ \t\r\n]*:[ \t\r\n]*)' + _VALUE)
_HOST = re.compile(r'("host"[ \t\r\n]*:[ \t\r\n]*)' + _VALUE)
# Two patterns, not one with `(?:cuda_)?`: a literal prefix is what makes a search fast.
_DRIVER = re.compile(r'("driver_version"[ \t\r\n]*:[ \t\r\n]*)' + _VALUE)
_CUDA_DRIVER = re.compile(r'("cuda_driver_version"[ \t\r\n]*:[ \t\r\n]*)' + _VALUE)
_DRIVER_FIELDS = ("driver_version", "cuda_driver_version")
_STAND_IN = "0"
"""What a driver placeholder is read as while the kind is parsed (a version); each line's own is checked."""
_PLACEHOLDER_PREFIX = "\x00tvselect-"
_MAX_VALUES = 1024
"""A line with more cut-out values than this is parsed whole (no facts document has so many GPUs)."""
_CACHE_KINDS = 4096
_CACHE_CHARS = 8 * 1024 * 1024
"""The cache is emptied before it holds more kinds, or more characters of keys, than these."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One facts document of the input, read or not."""

    source: str
    """The file it came from, or `<stdin>`."""
    line: int
    """The line it starts on (1-based)."""
    facts: Facts | None
    """Its facts, host included; None when it could not be read."""
    error: str | None
    """Why it could not be read; None when it could."""


def machine_kind(facts: Facts) -> Facts:
    """`facts` without what tells machines of one kind apart: host name, GPU and MIG UUIDs, probe notes.

    The engine reads none of these, so every machine of one kind gets the same decision.
    """
    gpu = facts.gpu
    gpus = gpu.gpus
    if any(g.uuid is not None or g.mig_devices for g in gpus):
        gpus = tuple(g._replace(uuid=None, mig_devices=()) for g in gpus)
    excluded = gpu.excluded
    if any(e.uuid is not None for e in excluded):
        excluded = tuple(e._replace(uuid=None) for e in excluded)
    return facts._replace(host=None, gpu=gpu._replace(gpus=gpus, excluded=excluded, notes=()))


def facts_entry(document: Any, source: str, line: int, kinds: bool) -> Entry:
    """The Entry of a decoded document; with `kinds`, its facts are its machine_kind, host kept."""
    try:
        facts = from_document(document, f"{source}:{line}")
    except BadInputError as exc:
        return Entry(source, line, None, _problem(str(exc), f"{source}:{line}"))
    except (TypeError, ValueError, AttributeError, RecursionError) as exc:
        # from_document names the field for the mistakes it knows; this catches the rest.
        return Entry(source, line, None, f"malformed ({type(exc).__name__})")
    if kinds:
        facts = machine_kind(facts)._replace(host=facts.host)
    return Entry(source, line, facts, None)


def _problem(message: str, where: str) -> str:
    """from_document's message without its 'facts document WHERE: ' prefix (Entry says where)."""
    prefix = f"facts document {where}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def value_problem(exc: ValueError | RecursionError) -> str:
    """What is wrong with a JSON text that json.loads refused, in words."""
    from tvselect.base.textfile import json_value_problem

    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    return json_value_problem(exc)


@dataclass(frozen=True, slots=True)
class _Kind:
    """What one kind of line parses to, and where its cut-out values go."""

    facts: Facts
    """The line's facts, with placeholders where host, GPU and MIG UUIDs go."""
    kind: Facts
    """machine_kind of `facts`: what every line of this kind gives with `kinds`."""
    host_slot: int | None
    """Which cut-out value is the top-level host; None when the document has no host."""
    gpu_slots: tuple[int, ...]
    """For each GPU, which cut-out value is its UUID (-1: none); () when no GPU has one."""
    mig_slots: tuple[tuple[int, ...], ...]
    """For each GPU, which cut-out values are its MIG devices' UUIDs; () when no GPU has MIG devices."""
    excluded_slots: tuple[int, ...]
    """For each excluded GPU, which cut-out value is its UUID (-1: none); () when none has one."""
    strings: tuple[int, ...]
    """The cut-out values that must be strings (MIG UUIDs): a line with null there is parsed whole."""
    driver_slots: tuple[int, int] = (-1, -1)
    """Which cut-out values are the driver version and its CUDA version (-1: none)."""


def _placeholder(k: int) -> str:
    return json.dumps(f"{_PLACEHOLDER_PREFIX}{k}\x00")


def _slot(value: object) -> int:
    """The number of the placeholder `value` is; -1 for any other value."""
    if not isinstance(value, str) or not value.startswith(_PLACEHOLDER_PREFIX) or not value.endswith("\x00"):
        return -1
    digits = value[len(_PLACEHOLDER_PREFIX) : -1]
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 9 else -1


def _decode(raw: str) -> str | None:
    """A cut-out value: a JSON string token or null (the pattern admits nothing json.loads refuses)."""
    if raw == "null":
        return None
    if "\\" not in raw:
        return raw[1:-1]
    value: str = json.loads(raw)
    return value


_PLACEHOLDERS: list[str] = []
"""The JSON text of placeholder k, made as lines need them (at most _MAX_VALUES)."""


def _cut(text: str, pattern: re.Pattern[str], values: list[str]) -> str:
    """`text` with the value after each of `pattern`'s keys replaced by the next placeholder; the values go to `values`."""
    parts = pattern.split(text)  # text, key and colon, value, text, ..., text
    if len(parts) == 1:
        return text
    first = len(values)
    values += parts[2::3]
    last = len(values)
    if last > _MAX_VALUES:
        return text
    if last > len(_PLACEHOLDERS):
        _PLACEHOLDERS.extend(_placeholder(k) for k in range(len(_PLACEHOLDERS), last))
    parts[2::3] = _PLACEHOLDERS[first:last]
    return "".join(parts)


class LineReader:
    """Reads JSON Lines lines, parsing each kind of line once.

    The values of every `"uuid"`, then every `"host"`, then every `"driver_version"` and
    `"cuda_driver_version"` key are cut out of the line's text and the rest is the cache key
    (a fleet whose hosts differ only in their driver versions is one kind of line). On a miss, the key is parsed with numbered placeholders
    in their place, which shows where each value goes (the top-level host, which GPU's or
    MIG device's UUID, or a place the facts never read); a hit puts this line's values
    there. With `kinds`, a hit gives the kind's machine_kind with this line's host, and
    the UUIDs are not even decoded.
    """

    def __init__(self, kinds: bool = False) -> None:
        self.kinds = kinds
        self.cache: dict[str, _Kind | None] = {}
        self.gpus: dict[tuple[int, str | None, str | None], tuple[_Kind, GpuFacts]] = {}
        self.chars = 0

    def read(self, line: str, source: str, number: int) -> Entry:
        if len(line) > _MAX_KEY_CHARS:
            return self.parse(line, source, number)
        values: list[str] = []
        key = _cut(
            _cut(_cut(_cut(line, _UUID, values), _HOST, values), _DRIVER, values), _CUDA_DRIVER, values
        )
        if not values or len(values) > _MAX_VALUES:
            return self.parse(line, source, number)
        try:
            kind = self.cache[key]
        except KeyError:
            kind = self._remember(key, len(values))
        if kind is None or (kind.strings and _nulls(values, kind.strings)):
            # Not a facts document (the whole parse says why), one that spells a placeholder
            # itself, or null where a string goes.
            return self.parse(line, source, number)
        driver = _driver(kind, values)
        if driver is None:  # not a version: the whole parse says so
            return self.parse(line, source, number)
        host = None if kind.host_slot is None else _decode(values[kind.host_slot])
        if self.kinds:
            return Entry(source, number, Facts(kind.kind.cpu, self._gpu(kind, driver), host), None)
        facts = _with_values(kind, values, host)
        return Entry(source, number, facts._replace(gpu=_with_driver(facts.gpu, kind, driver)), None)

    def _gpu(self, kind: _Kind, driver: tuple[str | None, str | None]) -> GpuFacts:
        """The kind's machine_kind GPU facts with this driver: one object per kind and driver."""
        if kind.driver_slots == (-1, -1):
            return kind.kind.gpu
        key = (id(kind), *driver)
        gpu = self.gpus.get(key)
        if gpu is None or gpu[0] is not kind:
            if len(self.gpus) >= _CACHE_KINDS:
                self.gpus.clear()
            gpu = self.gpus[key] = (kind, _with_driver(kind.kind.gpu, kind, driver))
        return gpu[1]

    def _remember(self, key: str, count: int) -> _Kind | None:
        kind = _kind_of(key, count)
        if len(self.cache) >= _CACHE_KINDS or self.chars + len(key) > _CACHE_CHARS:
            self.cache.clear()
            self.chars = 0
        self.cache[key] = kind
        self.chars += len(key)
        return kind

    def parse(self, line: str, source: str, number: int) -> Entry:
        """The Entry of a line parsed whole, without the cache."""
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            return Entry(source, number, None, f"invalid JSON at column {exc.colno} ({exc.msg})")
        except (ValueError, RecursionError) as exc:
            return Entry(source, number, None, value_problem(exc))
        return facts_entry(document, source, number, self.kinds)


_MAX_KEY_CHARS = 64 * 1024
"""A longer line is parsed whole: a facts document is a few kilobytes."""


def _nulls(values: list[str], slots: tuple[int, ...]) -> bool:
    return any(values[k] == "null" for k in slots)


def _kind_of(key: str, count: int) -> _Kind | None:
    """The parse of a key with `count` placeholders; None when it is not a valid facts document
    (the whole parse says why), or when the line itself may spell a placeholder.
    """
    # A placeholder starts with a NUL character, which JSON text can only write as \u0000:
    # each of the key's placeholders has two, so any other means the line wrote one itself
    # (under a key name written with escapes, which is not cut out), and could take the place
    # of another value.
    if key.count("\\u0000") != 2 * count:
        return None
    try:
        document = json.loads(key)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    host_slot = _slot(document.get("host")) if "host" in document else None
    if host_slot == -1:
        return None
    document, driver_slots = _stand_ins(document)
    try:
        facts = from_document({**document, "host": None}, "<line>")
    except (BadInputError, TypeError, ValueError, AttributeError, RecursionError):
        return None
    gpus, excluded = facts.gpu.gpus, facts.gpu.excluded
    gpu_slots = tuple(_slot(g.uuid) for g in gpus)
    mig_slots = tuple(tuple(_slot(m) for m in g.mig_devices) for g in gpus)
    excluded_slots = tuple(_slot(e.uuid) for e in excluded)
    strings = tuple(k for slots in mig_slots for k in slots if k >= 0)
    return _Kind(
        facts=facts,
        kind=machine_kind(facts),
        host_slot=host_slot,
        gpu_slots=gpu_slots if any(k >= 0 for k in gpu_slots) else (),
        mig_slots=mig_slots if strings else (),
        excluded_slots=excluded_slots if any(k >= 0 for k in excluded_slots) else (),
        strings=strings,
        driver_slots=driver_slots,
    )


def _stand_ins(document: dict[str, Any]) -> tuple[dict[str, Any], tuple[int, int]]:
    """The document with a version in place of its driver placeholders, and their slots."""
    gpu = document.get("gpu")
    if not isinstance(gpu, dict):
        return document, (-1, -1)
    slots = tuple(_slot(gpu.get(field)) for field in _DRIVER_FIELDS)
    stand_ins = {f: _STAND_IN for f, k in zip(_DRIVER_FIELDS, slots, strict=True) if k >= 0}
    return {**document, "gpu": {**gpu, **stand_ins}}, (slots[0], slots[1])


def _driver(kind: _Kind, values: list[str]) -> tuple[str | None, str | None] | None:
    """This line's driver version and CUDA version where the kind has slots; None: one is not a version."""
    found = []
    for k in kind.driver_slots:
        value = _decode(values[k]) if k >= 0 else None
        if value is not None and parse_version(value) is None:
            return None
        found.append(value)
    return found[0], found[1]


def _with_driver(gpu: GpuFacts, kind: _Kind, driver: tuple[str | None, str | None]) -> GpuFacts:
    version_slot, cuda_slot = kind.driver_slots
    if version_slot >= 0:
        gpu = gpu._replace(driver_version=driver[0])
    if cuda_slot >= 0:
        gpu = gpu._replace(cuda_driver_version=driver[1])
    return gpu


def _with_values(kind: _Kind, values: list[str], host: str | None) -> Facts:
    """The kind's facts with this line's host and UUIDs."""
    facts = kind.facts
    if not (kind.gpu_slots or kind.mig_slots or kind.excluded_slots):
        return facts._replace(host=host)
    gpu: GpuFacts = facts.gpu
    gpus = gpu.gpus
    if kind.gpu_slots or kind.mig_slots:
        gpus = tuple(_gpu_values(g, n, kind, values) for n, g in enumerate(gpus))
    excluded = gpu.excluded
    if kind.excluded_slots:
        excluded = tuple(
            e if k < 0 else e._replace(uuid=_decode(values[k]))
            for e, k in zip(excluded, kind.excluded_slots, strict=True)
        )
    return facts._replace(host=host, gpu=gpu._replace(gpus=gpus, excluded=excluded))


def _gpu_values(gpu: Gpu, n: int, kind: _Kind, values: list[str]) -> Gpu:
    """GPU `n` of the kind with this line's UUID and MIG devices' UUIDs."""
    slot = kind.gpu_slots[n] if kind.gpu_slots else -1
    migs = kind.mig_slots[n] if kind.mig_slots else ()
    uuid = gpu.uuid if slot < 0 else _decode(values[slot])
    # A MIG slot is never null (`strings`), so `or ""` only ever keeps an empty string.
    mig = tuple(m if k < 0 else _decode(values[k]) or "" for m, k in zip(gpu.mig_devices, migs, strict=True))
    return gpu._replace(uuid=uuid, mig_devices=mig if migs else gpu.mig_devices)
