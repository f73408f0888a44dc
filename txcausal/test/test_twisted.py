"""
Tests for L{txcausal.twisted}, the public facade of the Twisted layer, and
an end-to-end check on the asyncio reactor.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Tuple

import orjson
from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase, TestCase

import txcausal.twisted
from txcausal import _deferred, _trial, _twistedlog
from txcausal.test._helpers import run_example


class FacadeTests(SynchronousTestCase):
    """
    Tests for the names L{txcausal.twisted} exports.
    """

    def test_exports(self) -> None:
        """
        Every name in C{__all__} is the object of its private module.
        """
        homes = {
            "DeferredContext": _deferred, "AlreadyFinished": _deferred,
            "writeFailure": _deferred, "inline_callbacks": _deferred,
            "TwistedDestination": _twistedlog,
            "CausalLogObserver": _twistedlog, "redirectLogsForTrial": _trial,
        }
        self.assertEqual(sorted(txcausal.twisted.__all__), sorted(homes))
        for name, module in homes.items():
            self.assertIs(getattr(txcausal.twisted, name), getattr(module, name), name)


#: Runs DeferredContext, inlineCallbacks and async def coroutines (both
#: ways) on the asyncio reactor, logging JSON lines to stdout.
_ASYNCIO_SCRIPT = """
import asyncio, sys
from twisted.internet import asyncioreactor
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
asyncioreactor.install(loop)

from twisted.internet.defer import Deferred, ensureDeferred, gatherResults, inlineCallbacks
from twisted.internet.task import deferLater, react
from txcausal import log_message, start_action, to_file
from txcausal.twisted import DeferredContext

def withContext(reactor):
    with start_action(action_type="check:context").context():
        d = DeferredContext(deferLater(reactor, 0.01, lambda: None))
        d.addCallback(lambda _: log_message(message_type="check:resumed"))
        return d.addActionFinish()

@inlineCallbacks
def generator(reactor):
    with start_action(action_type="check:inline"):
        yield deferLater(reactor, 0.01, lambda: None)
        log_message(message_type="check:resumed")

async def coroutine(name):
    with start_action(action_type="check:" + name):
        await Deferred.fromFuture(asyncio.ensure_future(asyncio.sleep(0.01)))
        log_message(message_type="check:resumed")

def main(reactor):
    to_file(sys.stdout)
    log_message(message_type="check:reactor", reactor=type(reactor).__name__)
    return gatherResults([withContext(reactor), generator(reactor),
                          ensureDeferred(coroutine("ensure")),
                          Deferred.fromCoroutine(coroutine("from"))])

react(main, [])
"""


class AsyncioReactorTests(TestCase):
    """
    The Twisted layer works on the asyncio reactor.
    """

    timeout = 60

    def test_contextsOnAsyncioReactor(self) -> "Deferred[None]":
        """
        On the asyncio reactor, with real timers and asyncio futures,
        L{DeferredContext} callbacks, C{inlineCallbacks} generators and
        C{async def} coroutines all log inside their own action, and every
        action succeeds.
        """
        from twisted.internet import reactor
        from twisted.internet.utils import getProcessOutputAndValue

        script = Path(self.mktemp())
        script.write_text(_ASYNCIO_SCRIPT)
        d = getProcessOutputAndValue(sys.executable, [str(script)], env=dict(os.environ),
                                     reactor=reactor)
        return d.addCallback(self.checkOutput)  # type: ignore[no-any-return]

    def checkOutput(self, result: Tuple[bytes, bytes, int]) -> None:
        out, err, code = result
        self.assertEqual(code, 0, (out + err).decode("utf-8", "replace"))
        messages = [orjson.loads(line) for line in out.splitlines()]
        tasks: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
        for message in messages:
            tasks[message["task_uuid"]].append(message)
        [reactorName] = [m["reactor"] for m in messages if "reactor" in m]
        self.assertEqual(reactorName, "AsyncioSelectorReactor")
        shapes = sorted(
            [(m.get("action_type") or m.get("message_type"), m.get("action_status"))
             for m in sorted(task, key=lambda m: m["task_level"])]
            for task in tasks.values() if len(task) > 1
        )
        self.assertEqual(shapes, [
            [(f"check:{name}", "started"), ("check:resumed", None),
             (f"check:{name}", "succeeded")]
            for name in ["context", "ensure", "from", "inline"]
        ])


class ExampleTests(SynchronousTestCase):
    """
    The Twisted examples run (C{trial_redirect} is run by L{test_trial}).
    """

    def test_treqLinkChecker(self) -> None:
        """
        C{treq_link_checker.py} checks its local site's links in one task:
        the page fetch logs inside its action, each link check records its
        status code, and the broken link is reported.
        """
        result = run_example("treq_link_checker.py")
        messages = [orjson.loads(line) for line in result.stdout.splitlines()]
        self.assertEqual(len({m["task_uuid"] for m in messages}), 1)
        codes = sorted((m["result"] for m in messages
                        if m.get("action_type") == "linkcheck:check_link"
                        and m["action_status"] == "succeeded"))
        self.assertEqual(codes, [200, 200, 404])
        [page] = [m for m in messages if m.get("message_type") == "linkcheck:page"]
        self.assertEqual(page["task_level"], [2, 2])
        [summary] = [m for m in messages if m.get("message_type") == "linkcheck:summary"]
        self.assertEqual((summary["checked"], len(summary["broken"])), (3, 1))
        self.assertTrue(summary["broken"][0].endswith("/gone"))
