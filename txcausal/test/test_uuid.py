"""
Tests for L{txcausal._uuid}.
"""

from __future__ import annotations

import os
import uuid

from twisted.trial.unittest import SynchronousTestCase

from txcausal._uuid import new_task_uuid


class NewTaskUUIDTests(SynchronousTestCase):
    """
    L{new_task_uuid}.
    """

    def test_version4(self) -> None:
        """
        The ids are canonical version 4, RFC 4122 UUIDs.
        """
        for _ in range(1000):
            text = new_task_uuid()
            parsed = uuid.UUID(text)
            self.assertEqual((parsed.version, parsed.variant), (4, uuid.RFC_4122))
            self.assertEqual(str(parsed), text)

    def test_unique(self) -> None:
        """
        Many ids are all different.
        """
        ids = {new_task_uuid() for _ in range(100000)}
        self.assertEqual(len(ids), 100000)

    def test_forkedChildDiffers(self) -> None:
        """
        A forked child does not repeat its parent's next ids.
        """
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.write(write, new_task_uuid().encode())
            os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        child = os.read(read, 100).decode()
        os.close(read)
        self.assertEqual(len(child), 36)
        self.assertNotEqual(child, new_task_uuid())

    def test_everyRandomBitVaries(self) -> None:
        """
        Each of the 122 bits that are not the version's or the variant's
        takes both values over many ids: none is stuck.
        """
        ones, zeros = 0, 0
        for _ in range(2000):
            value = uuid.UUID(new_task_uuid()).int
            ones |= value
            zeros |= ~value
        fixed = (0xF << 76) | (0xC << 60)
        full = (1 << 128) - 1
        self.assertEqual((ones & ~fixed & full, zeros & ~fixed & full),
                         (full & ~fixed, full & ~fixed))
