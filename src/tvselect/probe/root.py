"""The folder the probe reads a machine's files under: `/` for this machine, or a mounted image.

`TVSELECT_ROOT` names it (as distro's `root_dir` does); it is read once, in `gather_facts`, and
passed down. Under `/` every path is the path itself, so the probe does exactly what it did
before roots existed. Under another folder, paths are resolved as a chroot would: symbolic
links are followed inside the root (an absolute target is re-rooted, `..` stops at the root),
so a link in an image can never lead the probe to this machine's own files. (Resolving and
opening are two steps: an image changed while tvselect reads it could swap a link in between;
a mounted image is not expected to change under it.)
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from typing import NamedTuple

from tvselect.errors import BadInputError

HOST = "/"
ENV_VAR = "TVSELECT_ROOT"
# Larger than any /proc or /sys file the probe reads (compatible, class, nv_tegra_release).
MAX_PROBE_FILE_BYTES = 64 * 1024
_MAX_LINKS = 40  # the kernel's own limit (ELOOP)


class ProbeRoot(NamedTuple):
    """Where the probe reads files from."""

    path: str
    """An absolute folder; `/` for this machine."""

    @property
    def is_host(self) -> bool:
        """Whether this is this machine's own root, where NVML and nvidia-smi may run."""
        return self.path == HOST

    def shown(self, path: str) -> str:
        """`path` as a person should read it in a note: prefixed with the root unless it is `/`."""
        return path if self.is_host else f"{self.path.rstrip('/')}{path}"

    def resolve(self, path: str) -> str:
        """The path on this machine of the absolute `path` inside the root; OSError on a link loop."""
        if self.is_host:
            return path
        return _resolve_in(self.path, path)

    def exists(self, path: str) -> bool:
        """Whether `path` exists inside the root (a link that leads nowhere does not)."""
        try:
            return os.path.exists(self.resolve(path))
        except OSError:
            return False

    def isdir(self, path: str) -> bool:
        """Whether `path` is a folder inside the root."""
        try:
            return os.path.isdir(self.resolve(path))
        except OSError:
            return False

    def listdir(self, path: str) -> list[str]:
        """The names in the folder `path`, sorted; OSError if it cannot be listed."""
        return sorted(os.listdir(self.resolve(path)))

    def read_text(self, path: str, limit: int = MAX_PROBE_FILE_BYTES) -> str:
        """The text of the file `path` (at most `limit` bytes, undecodable bytes replaced); OSError if unreadable.

        Under a root other than `/` only regular files are opened: a FIFO or device in an image
        could block the read forever.
        """
        from tvselect.base.textfile import read_capped

        real = self.resolve(path)
        if not self.is_host and not stat.S_ISREG(os.stat(real).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        data, _ = read_capped(real, limit)
        return data.decode("utf-8", "replace")


HOST_ROOT = ProbeRoot(HOST)


def _resolve_in(root: str, path: str) -> str:
    pending = [p for p in reversed(path.split("/")) if p and p != "."]
    done: list[str] = []
    links = 0
    while pending:
        name = pending.pop()
        if name == "..":
            if done:
                done.pop()
            continue
        here = os.path.join(root, *done, name)
        try:
            is_link = stat.S_ISLNK(os.lstat(here).st_mode)
        except OSError:
            # Missing from here on: the rest is joined as it is, and opening it fails as it should.
            return os.path.join(here, *reversed(pending))
        if not is_link:
            done.append(name)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
        target = os.readlink(here)
        if target.startswith("/"):
            done = []
        pending.extend(p for p in reversed(target.split("/")) if p and p != ".")
    return os.path.join(root, *done)


def probe_root(environ: Mapping[str, str]) -> ProbeRoot:
    """The root `TVSELECT_ROOT` names (unset or empty: `/`); BadInputError if it is not a folder."""
    raw = environ.get(ENV_VAR, "")
    if not raw:
        return HOST_ROOT
    folder = os.path.abspath(raw)
    if not os.path.isdir(folder):
        raise BadInputError(f"{ENV_VAR}={raw}: not a folder")
    return ProbeRoot(HOST if os.path.realpath(folder) == HOST else folder)
