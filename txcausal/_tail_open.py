# -*- test-case-name: txcausal.test.test_follow_rotated,txcausal.test.test_follow_compressed -*-
"""
Opening the files a L{FileFollower<txcausal._tail.FileFollower>} reads:
only regular files (L{open_regular}), their kind, compressed or not, told
by their first bytes (L{compressed_at}: not yet, for a file that has
not got them); a file found again at its new number (L{open_numbered});
the copy of a file truncated in place (L{find_copy}).
"""

from __future__ import annotations

import errno
import os
from stat import S_ISDIR, S_ISREG
from typing import List, Optional, Set, Tuple

from attrs import frozen

from ._source import _GZIP_MAGIC
from ._tail_files import Generation
from ._tail_rotated import (
    LISTINGS,
    Fingerprint,
    Numbered,
    Stat,
    fingerprint,
    identity,
    numbered_files,
)

#: The first bytes of the compressed kinds the follower reads (gzip's).
_MAGIC = _GZIP_MAGIC


def compressed_at(fd: int) -> Optional[bool]:
    """
    Whether the file C{fd} is compressed, by its first bytes: C{None}
    while it has too few of them to tell (it is empty, or holds the start
    of gzip's magic number only).

    @raise OSError: If it cannot be read.
    """
    first = os.pread(fd, len(_MAGIC), 0)
    if len(first) < len(_MAGIC) and _MAGIC.startswith(first):
        return None
    return first == _MAGIC


@frozen
class Opened:
    """
    A regular file opened, not read yet.

    @ivar fd: Its descriptor.
    @ivar stat: Its status, read from the descriptor.
    @ivar compressed: Whether it starts as gzip does; C{None} while that
        cannot be told (see L{compressed_at}).
    """

    fd: int
    stat: os.stat_result
    compressed: Optional[bool]


def open_regular(path: str, stat: Stat, status: Optional[os.stat_result] = None) -> Opened:
    """
    Open the regular file at C{path}, not to read it yet.

    @param stat: Reads the status of a path or descriptor.
    @param status: The file's status, if it was read already.
    @raise OSError: If it cannot be opened, or is not a regular file
        (a FIFO, which opening would wait on, or a directory).
    """
    _regular(status if status is not None else stat(path))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        opened = _regular(stat(fd))  # Replaced meanwhile?
        compressed = compressed_at(fd)
    except BaseException:
        os.close(fd)
        raise
    return Opened(fd, opened, compressed)


def find_copy(current: Generation, numbered: List[Numbered], known: Set[Fingerprint],
              stat: Stat) -> Optional[Tuple[Numbered, Opened]]:
    """
    The copy of C{current} made before it was emptied in place: the newest
    of the C{numbered} files not C{known} when it was opened, if it is at
    least as long as what was read and holds the bytes last read at the
    same place.

    @param stat: Reads the status of a path or descriptor.
    @return: That file, and the file opened; C{None} if there is none.
    """
    mark, end = current.mark, current.offset
    new = [f for f in numbered if fingerprint(f.stat) not in known]
    if not mark or not new or new[0].stat.st_size < end:
        return None
    try:
        opened = open_regular(new[0].path, stat)
    except OSError:
        return None
    try:
        if (identity(opened.stat) == identity(new[0].stat) and opened.compressed is False
                and os.pread(opened.fd, len(mark), end - len(mark)) == mark):
            return new[0], opened
    except OSError:
        pass
    os.close(opened.fd)
    return None


def _regular(stat: os.stat_result) -> os.stat_result:
    """
    C{stat}, if it is a regular file's.

    @raise OSError: If it is not.
    """
    if S_ISDIR(stat.st_mode):
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR))
    if not S_ISREG(stat.st_mode):
        raise OSError(errno.EINVAL, "not a regular file")
    return stat


def open_numbered(middle: Numbered, path: str, stat: Stat) -> Opened:
    """
    Open the numbered file C{middle} of the file at C{path}: at its own
    path, or, if it is no longer there (rotated again meanwhile), at its
    new number (looked for in up to L{LISTINGS} listings: a rotation that
    renames it while it is listed can hide it from one).

    @raise OSError: If it cannot be opened, or was not found.
    """
    wanted = identity(middle.stat)
    try:
        opened = open_regular(middle.path, stat)
    except OSError:
        pass  # Rotated again; another file (of any kind) may be there now.
    else:
        if identity(opened.stat) == wanted:
            return opened
        os.close(opened.fd)
    for _ in range(LISTINGS):  # Renamed again while listed, it may be seen at no number.
        for found in numbered_files(path, stat):
            if identity(found.stat) != wanted:
                continue
            try:
                opened = open_regular(found.path, stat)
            except FileNotFoundError:
                break  # Renamed again: list again.
            if identity(opened.stat) == wanted:
                return opened
            os.close(opened.fd)
    raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))
