"""
What the tests of L{txcausal.web} share: a leaf resource that logs, the
task and trace they continue, and the actions picked out of a log; and
L{StubTreq} for every test that uses it.
"""

from __future__ import annotations

from typing import Any, Dict, List

from treq.testing import StubTreq as _StubTreq
from twisted.web.resource import Resource

from txcausal import log_message

#: StubTreq sets its methods at run time; give type checkers an Any.
StubTreq: Any = _StubTreq

TASK_UUID = "1e0be9be-ae56-49ef-9bce-60e850a7db09"
TRACEPARENT = b"00-1e0be9beae5649ef9bce60e850a7db09-00f067aa0ba902b7-01"


class Leaf(Resource):
    """
    Logs a message and answers with C{body} (bytes, a Deferred, or an
    exception to raise).
    """

    isLeaf = True

    def __init__(self, body: Any = b"ok") -> None:
        super().__init__()
        self.body = body

    def render(self, request: Any) -> Any:
        log_message(message_type="app:rendering")
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


def actions(messages: List[Dict[str, Any]], action_type: str) -> List[Dict[str, Any]]:
    """
    @return: The start and finish messages of actions of C{action_type}.
    """
    return [m for m in messages if m.get("action_type") == action_type]
