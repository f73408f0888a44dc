# -*- test-case-name: txcausal.test.test_jsondefault -*-
"""
JSON encoding support, as C{eliot.json}: L{json_default}, the function
txcausal encodes the types JSON does not know with.

To encode your own types, write a function that handles them and calls
L{json_default} last, and pass it as C{json_default=}::

    from txcausal import to_file
    from txcausal.json import json_default

    def my_default(o):
        if isinstance(o, Money):
            return {"amount": str(o.amount), "currency": o.currency}
        return json_default(o)

    to_file(open("app.log", "ab"), json_default=my_default)

A value that nothing can encode is written as its C{repr}, and reported
(see the "Values" section of C{docs/outputting.md}).  Outside txcausal's
encoder (the standard library's C{json.dumps(o, default=json_default)}),
L{json_default} returns what txcausal writes for any value, that C{repr}
included.
"""

from ._jsondefault import json_default

__all__ = ["json_default"]
