# -*- test-case-name: txcausal.test.test_follow_rotated -*-
"""
Which numbered files (C{NAME.1} the newest, C{NAME.2}, ...) hold what was
written at a followed name between two looks, when it was replaced more
than once in between: L{missed_files}.

A file is recognised by its device and inode number only while it is
open: the number of a file deleted is soon given to a new one (the usual
steady state of numbered rotation, which deletes the oldest file just
before the newest is created).  The file read before at the name is still
open, so it is found surely; the files numbered below it were at the name
after it.  When it is gone (deleted by the rotation), the numbered files
seen when it was opened are recognised by their size and modification
time as well, which a rename does not change.

A listing is not a snapshot: a rotation that runs while it is made (the
highest number renamed first, down to the name renamed C{.1}) can show one
file at two numbers, or the file read before next to the one at the name
with the file that was between them at neither number.  The files are
listed again until two listings in a row agree (L{settled_files}); when
none do, or when they show what a rotation half done leaves (a number free
below the file read before: L{Missed.moving}), the files are decided at a
later look, up to L{UNSETTLED_LOOKS} looks in a row, or sooner if the file
read before is about to be deleted (L{about_to_go}).  The listings need
agree only up to the file read before: the older files above it are
renamed for most of each rotation of a writer that keeps many.
"""

from __future__ import annotations

import os
from typing import Callable, List, Optional, Set, Tuple, Union

from attrs import frozen

#: How many times the numbered files are listed, at most, at one look, for
#: two listings in a row that agree (see L{settled_files}).
LISTINGS = 3

#: The numbered files renamed while they were listed (see
#: L{settled_files}), or as a rotation half done leaves them (see
#: L{Missed.moving}), at this many looks in a row are taken as listed.
UNSETTLED_LOOKS = 10

#: Said when they are.
UNSETTLED = (f"the numbered files were renamed while they were listed, at {UNSETTLED_LOOKS}"
             " looks in a row: taken as last listed; files rotated away between two looks"
             " may have been missed")

#: Said when they are decided sooner, the file read before about to be deleted.
ENDING = ("the numbered files were renamed while they were listed, and the file read before"
          " is about to be deleted by the rotation: taken as last listed; files rotated away"
          " between two looks may have been missed or read out of order")

#: A file's device and inode number.
Identity = Tuple[int, int]
#: A file's device, inode number, size and modification time (ns).
Fingerprint = Tuple[int, int, int, int]
#: The number of a file among the numbered ones, and the highest number.
Place = Tuple[int, int]
#: C{os.stat}: the status of a path or of an open file descriptor.
Stat = Callable[[Union[str, int]], os.stat_result]


def identity(stat: os.stat_result) -> Identity:
    """
    The device and inode number of the file C{stat} describes.
    """
    return (stat.st_dev, stat.st_ino)


def fingerprint(stat: os.stat_result) -> Fingerprint:
    """
    The device, inode number, size and modification time of the file
    C{stat} describes: what a rename keeps and a new file rarely repeats.
    """
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@frozen
class Numbered:
    """
    A numbered file next to a followed name, as it was when looked at.

    @ivar number: The number after the name's dot.
    @ivar path: Its path.
    @ivar stat: Its status when it was listed.
    """

    number: int
    path: str
    stat: os.stat_result


@frozen
class Missed:
    """
    What to make of the numbered files after the name was replaced.

    @ivar files: The files that were at the name between two looks, the
        oldest first: to read.
    @ivar lost: Why a file may have been lost, or C{None}.
    @ivar moving: Whether the numbered files look as a rotation under way
        leaves them (a number free below the file read before, or new
        files that cannot be placed): better decided at a later look.
    """

    files: List[Numbered]
    lost: Optional[str] = None
    moving: bool = False


def numbered_files(path: str, stat: Stat = os.stat) -> List[Numbered]:
    """
    The files named C{path} followed by a dot and a number, by number;
    those gone before their status was read are left out.

    @param path: The followed name.
    @param stat: Reads the status of a path.
    @return: The numbered files, C{NAME.1} first; none if the directory
        cannot be listed.
    """
    directory, base = os.path.split(path)
    prefix = base + "."
    found = []
    try:
        names = [entry.name for entry in os.scandir(directory or ".")]
    except OSError:
        return []
    for name in names:
        digits = name[len(prefix):]
        if not (name.startswith(prefix) and digits.isascii() and digits.isdigit()
                and digits[0] != "0"):
            continue
        full = os.path.join(directory, name)
        try:
            found.append(Numbered(int(digits), full, stat(full)))
        except OSError:
            continue  # Gone meanwhile: nothing was there to read.
    return sorted(found, key=lambda numbered: numbered.number)


@frozen
class Settled:
    """
    The numbered files, as listed by L{settled_files}.

    @ivar files: The files, C{NAME.1} first, each once.
    @ivar settled: Whether two listings in a row agreed, so that C{files}
        are as they were at one moment; if not, C{files} are as last
        listed, while they were being renamed.
    """

    files: List[Numbered]
    settled: bool


def settled_files(path: str, stat: Stat = os.stat, listings: int = LISTINGS,
                  previous: Optional[Identity] = None) -> Settled:
    """
    The numbered files of C{path} (see L{numbered_files}) as they were at
    one moment: listed again, up to C{listings} times in all, until two
    listings in a row show the same files (by device and inode number) at
    the same numbers, up to the file C{previous} if both show it (files
    only move up: those above it, older, do not tell which files came
    after it, and a writer keeping many renames them for most of each
    rotation).  A file at two numbers (hard links) is kept at the lower
    one only.

    @param path: The followed name.
    @param stat: Reads the status of a path.
    @param previous: The file read before at the name, if any.
    """
    files = numbered_files(path, stat)
    for _ in range(listings - 1):
        before, files = files, numbered_files(path, stat)
        if _layout(before, previous) == _layout(files, previous):
            return Settled(_once(files), True)
    return Settled(_once(files), False)


def _layout(numbered: List[Numbered],
            upto: Optional[Identity] = None) -> List[Tuple[int, Identity]]:
    """
    Which file is at which number in C{numbered}, up to the file C{upto}
    if it is there.
    """
    layout = [(f.number, identity(f.stat)) for f in numbered]
    end = next((n for n, (_, at) in enumerate(layout) if at == upto), len(layout))
    return layout[:end + 1]


def _once(numbered: List[Numbered]) -> List[Numbered]:
    """
    C{numbered}, a file at several numbers kept at the lowest only.
    """
    seen: Set[Identity] = set()
    once = []
    for f in numbered:
        if identity(f.stat) not in seen:
            seen.add(identity(f.stat))
            once.append(f)
    return once


def missed_files(numbered: List[Numbered], previous: Optional[Identity], at_name: Identity,
                 still_open: Set[Identity], closed: Set[Fingerprint],
                 known: Set[Fingerprint]) -> Missed:
    """
    The numbered files that were at the name after the file read before
    and before the one there now.

    @param numbered: The numbered files now (see L{numbered_files}).
    @param previous: The file read before at the name (still open, so
        that its identity tells it, a compressed one too), C{None} if
        not known.
    @param at_name: The file at the name now (a hard link to it is not
        one of them).
    @param still_open: The files being read or kept open: not to be read
        again.
    @param closed: The files read and closed (idle for a while then, so
        that a new file given one's inode number has another modification
        time): not to be read again.
    @param known: The numbered files seen when the previous file was
        opened: older than it.
    @return: The files to read, and why one may have been lost.
    """
    others = [f for f in older_than(numbered, at_name) if identity(f.stat) != at_name
              and (identity(f.stat) == previous or (identity(f.stat) not in still_open
                                                    and fingerprint(f.stat) not in closed))]
    place = next((n for n, f in enumerate(others) if identity(f.stat) == previous), None)
    if place is not None:
        gap = _gap(numbered, others[place].number)
        return Missed(others[place - 1::-1] if place else [], gap, gap is not None)
    unknown = [f for f in others if fingerprint(f.stat) not in known]
    if not unknown:
        return Missed([])  # Replaced once, or rotated under another name.
    if [f.number for f in unknown] == list(range(1, len(unknown) + 1)):
        return Missed(unknown[::-1], "the file read before is no longer among the numbered"
                      " files (deleted or compressed by a rotation): files rotated away between"
                      " two looks may have been missed")
    names = ", ".join(os.path.basename(f.path) for f in unknown)
    return Missed([], f"the file read before is not among the numbered files: {names} not"
                  " read, as it cannot be told whether they were at the name between two"
                  " looks; a rotation may have lost a file", True)


def older_than(numbered: List[Numbered], at_name: Identity) -> List[Numbered]:
    """
    The files in C{numbered} above the file at the name, if it is among
    them (rotated while they were listed): those below it are newer, read
    after it.
    """
    at = next((f.number for f in numbered if identity(f.stat) == at_name), 0)
    return [f for f in numbered if f.number > at]


def about_to_go(numbered: List[Numbered], previous: Identity,
                before: Optional[Place]) -> Tuple[bool, Optional[Place]]:
    """
    Whether the file read before, listed in C{numbered} while they are
    still being renamed, is about to be deleted by its writer: one that
    keeps as many files as it can (the highest number listed did not grow
    since the last look), the file having moved since then half as far
    as is left to it, or more.  Waiting for the files to hold still would
    lose it and the files after it.

    @param numbered: The numbered files as last listed.
    @param previous: The file read before at the name.
    @param before: Its number and the highest number at the last look
        that left them undecided (C{None}: none).
    @return: Whether, and the place to compare at the next look.
    """
    place = next((f.number for f in numbered if identity(f.stat) == previous), None)
    if place is None:  # Not seen in this listing: compared at the next look.
        return False, before
    highest = numbered[-1].number
    if before is None:
        return False, (place, highest)
    moved = place - before[0]
    full = highest <= before[1]
    return full and moved > 0 and place + 2 * moved >= highest, (place, max(highest, before[1]))


def _gap(numbered: List[Numbered], below: int) -> Optional[str]:
    """
    Why a file may have been lost: numbers missing below C{below}.
    """
    present = {f.number for f in numbered}
    missing = [n for n in range(1, below) if n not in present]
    if not missing:
        return None
    return (f"numbered files missing ({', '.join(f'.{n}' for n in missing)}) among those"
            " rotated away between two looks: their messages may be lost")
