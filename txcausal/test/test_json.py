"""
Tests for L{txcausal._json}: decoding what the encoders wrote, integers past
64 bits included.
"""

from __future__ import annotations

import orjson
from twisted.trial.unittest import SynchronousTestCase

from txcausal._json import DEFAULT_ENCODER
from txcausal._json_decode import decode_json, may_hold_long_integer


class DecodeJSONTests(SynchronousTestCase):
    """
    L{decode_json} gives back what L{txcausal._json.JSONLineEncoder} encoded.
    """

    def assertRoundTrip(self, value: object) -> None:
        message = {"value": value}
        decoded = decode_json(DEFAULT_ENCODER.encode(message))
        self.assertEqual(decoded, message)
        self.assertIs(type(decoded["value"]), type(value))

    def test_integersPast64Bits(self) -> None:
        """
        Integers past the 64-bit range, positive or negative, come back as
        the same integers, not as floats.
        """
        for value in [2**64, 2**70 + 1, -(2**63) - 1, -(10**19) + 1, -(2**90)]:
            self.assertRoundTrip(value)

    def test_integersWithin64Bits(self) -> None:
        """
        Integers at the edges of the 64-bit range, and 19-digit ones such as
        nanosecond timestamps, come back exactly.
        """
        for value in [2**64 - 1, -(2**63), 1_700_000_000_123_456_789, 0]:
            self.assertRoundTrip(value)

    def test_longFractionsStayFloats(self) -> None:
        """
        A float whose text has twenty digits in a row (after the point, or
        in an exponent's mantissa) stays a float.
        """
        for text in [b'{"v": 0.12345678901234567890}', b'{"v": -1.12345678901234567890e5}']:
            self.assertEqual(decode_json(text), orjson.loads(text))
            self.assertIs(type(decode_json(text)["v"]), float)

    def test_digitsInStrings(self) -> None:
        """
        Long digit runs inside strings are left as they are, whichever
        decoder reads the line.
        """
        text = b'{"id": "12345678901234567890123", "neg": "-1234567890123456789"}'
        self.assertEqual(decode_json(text), {"id": "12345678901234567890123",
                                             "neg": "-1234567890123456789"})

    def test_mayHoldLongInteger(self) -> None:
        """
        L{may_hold_long_integer} passes over digits after a point (a
        duration of a few hundred microseconds has twenty), and finds an
        integer past 64 bits among them, at the start, or negative.
        """
        duration = b'{"duration": 0.00014445799934037495}'
        self.assertEqual(len(str(0.00014445799934037495).split(".")[1]), 20)
        for text in [duration + b"\n" + duration, b"[9999999999999999999, 0.1234567890123456789]",
                     b"[1.0000000000000000000000000000000000000001]"]:
            self.assertFalse(may_hold_long_integer(text), text)
        for text in [duration + b'\n{"n": 1180591620717411303424}', b"18446744073709551616",
                     b"[-9223372036854775809]", b'{"id": "x12345678901234567890"}',
                     b"[0.5,18446744073709551616]"]:
            self.assertTrue(may_hold_long_integer(text), text)

    def test_notJSON(self) -> None:
        """
        Text that is not JSON raises L{ValueError} (orjson's
        C{JSONDecodeError}).
        """
        self.assertRaises(ValueError, decode_json, b'{"v": ')
