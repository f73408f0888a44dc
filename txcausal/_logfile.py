# -*- test-case-name: txcausal.test.test_file_fulldisk,txcausal.test.test_file_streams -*-
"""
Writing to Twisted's C{LogFile} and C{DailyLogFile} with an exact count of
what the file took, so that L{txcausal.FileDestination} finishes a line a
full disk cut, as it does for other files.
"""

from __future__ import annotations

from typing import Any, Optional

from twisted.python import threadable
from twisted.python.logfile import DailyLogFile, LogFile


class _Synchronized:
    """
    L{LogFileWriter}'s write, holding the lock that a C{LogFile}'s own
    C{write} and C{rotate} hold: C{threadable.synchronize} makes that lock
    for the object the method is called on, here the log file itself.
    """

    synchronized = ["write"]

    def write(logFile: Any, data: Any, daily: bool, midLine: bool) -> int:  # noqa: N805
        # Not while the file ends with part of a line: its rest goes first.
        if not midLine and logFile.shouldRotate():
            logFile.flush()
            logFile.rotate()
        written: int = logFile._file.write(data)
        if daily:
            # As DailyLogFile.write does: time may run backwards.  (Not for
            # the rest of a line: a rotation due stays due.)
            if not midLine:
                logFile.lastDate = max(logFile.lastDate, logFile.toDate())
        else:
            logFile.size += written
        return written


threadable.synchronize(_Synchronized)  # type: ignore[no-untyped-call]


class LogFileWriter:
    """
    Writes to a Twisted C{LogFile} or C{DailyLogFile} as its own C{write}
    does (rotating it first when it is due, and keeping its size or date),
    but returns how many bytes the file took: a C{LogFile}'s C{write} drops
    that count, so a full disk cut a line silently.  A file that a full
    disk left ending with part of a line is not rotated until that line is
    finished, so that each file holds whole lines.

    @ivar logFile: The log file.
    """

    __slots__ = ("logFile", "_daily", "_midLine")

    def __init__(self, logFile: Any, daily: bool) -> None:
        """
        @param daily: Whether C{logFile} is a C{DailyLogFile} (else a
            C{LogFile}).
        """
        self.logFile = logFile
        self._daily = daily
        self._midLine = False

    def write(self, data: Any) -> int:
        """
        Write C{data} with one system call.

        @return: How many bytes the file took.
        """
        written = _Synchronized.write(self.logFile, data, self._daily, self._midLine)
        if written:
            self._midLine = data[written - 1] != 0x0A
        return written

    def __repr__(self) -> str:
        return f"<LogFileWriter {self.logFile.path!r}>"


def writer_for(file: Any) -> Optional[LogFileWriter]:
    """
    @return: A L{LogFileWriter} for a C{LogFile} or C{DailyLogFile}, or a
        subclass that keeps their C{write}; C{None} for other log files.
    """
    write = type(file).write
    if write is LogFile.write:
        return LogFileWriter(file, daily=False)
    if write is DailyLogFile.write:
        return LogFileWriter(file, daily=True)
    return None
