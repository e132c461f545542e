"""Kubernetes Node Feature Discovery: the chosen variant as node labels, in a features.d file.

NFD's `local` source reads every file in `/etc/kubernetes/node-feature-discovery/features.d/`
whose name does not start with a dot; each `name=value` line becomes a node label, and a
`# +expiry-time=<RFC3339>` line makes the lines after it expire. The labels here are in
the `tvselect.feature.node.kubernetes.io/` namespace, which NFD allows without extra
configuration:

    tvselect.feature.node.kubernetes.io/package=torchvision-python313-cuda12_9-sm90-avx512
    tvselect.feature.node.kubernetes.io/branch=cuda-12_9
    tvselect.feature.node.kubernetes.io/gpu-arch=sm90       (`none` for a CPU-only build)
    tvselect.feature.node.kubernetes.io/cpu-isa=avx512
    tvselect.feature.node.kubernetes.io/torchvision=0.24.0  (only when the branch's version is known)

On no-match there are no labels: the caller removes the file, so that no stale label stays.

tvselect only ever replaces or removes a file it wrote itself: a regular file whose first
line is HEADER (after the expiry directive, when there is one). `check_target` refuses
anything else before tvselect acts at all, and the write and removal check again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import stat
import tempfile

from tvselect.base.atomicfile import absolute, replace_file, sync_directory
from tvselect.catalog.model import Catalog
from tvselect.engine.decision import Decision
from tvselect.errors import BadInputError

NAMESPACE = "tvselect.feature.node.kubernetes.io/"
NO_GPU_ARCH = "none"
EMPTY_VALUE = "unknown"
MAX_VALUE_LENGTH = 63

_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)")
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9._-]")
_DURATION = re.compile(r"([1-9][0-9]{0,5})([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_HASH_LENGTH = 8
HEADER = "# Written by tvselect --nfd; rewritten on every run."
_EXPIRY_PREFIX = "# +expiry-time="
_HEAD_BYTES = 4096


def is_label_value(value: str) -> bool:
    """Whether `value` is a label value tvselect writes: 1-63 of [A-Za-z0-9._-], alphanumeric ends."""
    return _VALUE.fullmatch(value) is not None


def label_value(text: str) -> str:
    """`text` as a valid label value: itself when it is one; otherwise sanitised deterministically.

    Characters outside [A-Za-z0-9._-] become `-`; leading and trailing non-alphanumerics are
    dropped; an empty result is `unknown`. A result longer than 63 characters keeps its first
    54 and ends in `-` and 8 hex digits of the SHA-256 of `text`, so distinct texts stay distinct.
    """
    if is_label_value(text):
        return text
    cleaned = _NOT_ALLOWED.sub("-", text).strip("._-")
    if len(cleaned) > MAX_VALUE_LENGTH:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_LENGTH]
        head = cleaned[: MAX_VALUE_LENGTH - _HASH_LENGTH - 1].rstrip("._-")
        cleaned = f"{head}-{digest}"
    return cleaned or EMPTY_VALUE


def nfd_labels(decision: Decision, catalog: Catalog) -> list[tuple[str, str]]:
    """The (label name, value) pairs for the decision, in a fixed order; empty on no-match."""
    variant = decision.variant
    if variant is None:
        return []
    labels = [
        ("package", variant.package),
        ("branch", variant.branch),
        ("gpu-arch", variant.gpu_arch or NO_GPU_ARCH),
        ("cpu-isa", variant.cpu_isa),
    ]
    torchvision = variant.torchvision
    if torchvision is not None:
        labels.append(("torchvision", torchvision))
    return [(NAMESPACE + name, label_value(value)) for name, value in labels]


def parse_duration(text: str) -> dt.timedelta:
    """A duration like `30m`, `12h` or `7d` (one positive integer and one unit of s, m, h, d).

    BadInputError for anything else.
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        raise BadInputError(
            f"--nfd-expiry {text!r}: give a whole number and one unit of s, m, h or d, like 30m, 12h or 7d"
        )
    return dt.timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def expiry_time(now: dt.datetime, duration: dt.timedelta) -> dt.datetime:
    """`now` plus `duration`, in UTC and to the second (what NFD's RFC 3339 directive carries)."""
    return (now.astimezone(dt.timezone.utc) + duration).replace(microsecond=0)


def render_nfd(labels: list[tuple[str, str]], expiry: dt.datetime | None) -> str:
    """The features.d file text: the expiry directive when given, then one `name=value` line per label."""
    lines = [HEADER]
    if expiry is not None:
        stamp = expiry.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.insert(0, f"# +expiry-time={stamp}")
    lines.extend(f"{name}={value}" for name, value in labels)
    return "\n".join(lines) + "\n"


def check_target(path: str) -> os.stat_result | None:
    """Whether tvselect may write its labels at `path`: the file's status when it is there, else None.

    BadInputError, naming the path, unless `path` is absent or a regular file tvselect wrote,
    and its directory exists and takes new files (tried by creating and removing one).
    """
    if path == "-":  # '-' is standard output, which carries the recommendation
        raise BadInputError("--nfd -: standard output carries the recommendation; name the labels file")
    directory = os.path.dirname(absolute(path, "--nfd"))
    existing = _existing(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=".tvselect-check.", dir=directory)
    except OSError as exc:
        why = exc.strerror
        if os.path.isdir(directory) and isinstance(exc, FileNotFoundError):
            why = "it does not take new files"
        elif not os.path.isdir(directory):
            why = "no such directory"
        raise BadInputError(f"--nfd {path}: cannot write in {directory} ({why})") from None
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(temporary)
    return existing


def _existing(path: str) -> os.stat_result | None:
    """The status of the tvselect file at `path`, None when there is none; BadInputError for any other file."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if os.path.islink(path):
            raise BadInputError(f"--nfd {path}: a symbolic link; give the path of the file itself") from None
        raise BadInputError(
            f"--nfd {path}: cannot be read ({exc.strerror}); refusing to replace it"
        ) from None
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            raise BadInputError(f"--nfd {path}: not a regular file; refusing to replace it")
        head = os.read(handle, _HEAD_BYTES).decode("utf-8", "replace").splitlines()
    except OSError as exc:
        raise BadInputError(
            f"--nfd {path}: cannot be read ({exc.strerror}); refusing to replace it"
        ) from None
    finally:
        os.close(handle)
    if head[:1] == [HEADER] or (head[:1] and head[0].startswith(_EXPIRY_PREFIX) and head[1:2] == [HEADER]):
        return status
    raise BadInputError(
        f"--nfd {path}: exists and tvselect did not write it (no '{HEADER}' line); refusing to replace it"
    )


def write_nfd(path: str, text: str) -> None:
    """Replace the file at `path` with `text` atomically: a hidden temporary file in the same
    directory (NFD ignores names starting with a dot), fsync, then os.replace.

    A file that is there keeps its owner and mode; a new one is 0644. BadInputError when
    the directory cannot be written or `path` is not a file tvselect wrote (`check_target`).
    """
    check_target(path)
    replace_file(path, (text,), "--nfd")


def remove_nfd(path: str) -> bool:
    """Remove the label file tvselect wrote at `path`, if it is there; True when one was removed.

    BadInputError when it is there and cannot be removed, or is not a file tvselect wrote.
    """
    if _existing(path) is None:
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise BadInputError(f"--nfd {path}: cannot remove the stale label file ({exc.strerror})") from None
    sync_directory(os.path.dirname(absolute(path, "--nfd")))
    return True
