# -*- test-case-name: txcausal.test.test_bench -*-
"""
Scenario 4: an action around a fired L{Deferred} with three callbacks,
with C{DeferredContext} and C{addActionFinish}; then the same work as an
C{inlineCallbacks} generator and as an C{async def} coroutine.

The figure is the overhead: the time of the logged version minus the time
of the same work with no logging ("bare"), measured in the same rounds.
Each logged version writes an action's start and finish messages to a file,
binary then text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List

from twisted.internet.defer import ensureDeferred, inlineCallbacks, succeed

from . import _peers
from ._core import BINARY, ELIOT, FILE, TEXT
from ._harness import Contender, Prepared, Row, Settings, Workdir, compare, measure, unavailable

BARE = "no logging"


def _step(value: int) -> int:
    return value + 1


def bare_chain() -> None:
    """
    Three callbacks on a fired L{Deferred}: the work of L{chain}, unlogged.
    """
    d = succeed(0)
    d.addCallback(_step)
    d.addCallback(_step)
    d.addCallback(_step)


def chain(start_action: Any, context_class: Any) -> Callable[[], None]:
    """
    @return: The C{DeferredContext} version of L{bare_chain} for a library
        (an action's start and finish messages), given its C{start_action}
        and C{DeferredContext}; L{bench._threaded_child} runs it too.
    """
    def op() -> None:
        with start_action(action_type="bench:deferred").context():
            d = context_class(succeed(0))
            d.addCallback(_step)
            d.addCallback(_step)
            d.addCallback(_step)
            d.addActionFinish()

    return op


@inlineCallbacks
def _bare_generator() -> Any:
    value = yield succeed(0)
    value = yield succeed(_step(value))
    value = yield succeed(_step(value))
    return _step(value)


def _generator(start_action: Any, decorator: Any) -> Callable[[], Any]:
    def work() -> Any:
        with start_action(action_type="bench:deferred"):
            value = yield succeed(0)
            value = yield succeed(_step(value))
            value = yield succeed(_step(value))
            return _step(value)

    decorated: Callable[[], Any] = decorator(work)
    return decorated


async def _bare_coroutine() -> int:
    value = await succeed(0)
    value = await succeed(_step(value))
    value = await succeed(_step(value))
    return _step(value)


def _coroutine(start_action: Any) -> Callable[[], Any]:
    async def work() -> int:
        with start_action(action_type="bench:deferred"):
            value = await succeed(0)
            value = await succeed(_step(value))
            value = await succeed(_step(value))
            return _step(value)

    return lambda: ensureDeferred(work())


def _bare(op: Callable[[], Any]) -> Callable[[Path], Prepared]:
    return lambda directory: (op, lambda: None)


def _txcausal(make: Callable[[Any], Callable[[], Any]], text: bool) -> Callable[[Path], Prepared]:
    def setup(directory: Path) -> Prepared:
        import txcausal
        from txcausal import twisted as txtwisted

        _, teardown = _peers.txcausal_file(directory, text)
        return make((txcausal, txtwisted)), teardown

    return setup


def _eliot(make: Callable[[Any], Callable[[], Any]], text: bool) -> Callable[[Path], Prepared]:
    def setup(directory: Path) -> Prepared:
        import eliot
        from eliot import twisted as eliottwisted

        _, teardown = _peers.eliot_file(directory, text=text)
        return make((eliot, eliottwisted)), teardown

    return setup


def _overheads(figures: Dict[str, float]) -> Dict[str, float]:
    bare = figures[BARE]
    return {name: value - bare for name, value in figures.items() if name != BARE}


def _variant(settings: Settings, workdir: Workdir, bare: Callable[[], Any],
             tx: Callable[[Any], Callable[[], Any]],
             el: Callable[[Any], Callable[[], Any]], text: bool) -> Dict[str, float]:
    figures = measure([
        # Each call logs an action: its start and its finish.
        Contender(BARE, _bare(bare)), Contender("txcausal", _txcausal(tx, text), 2),
        Contender(ELIOT, _eliot(el, text), 2),
    ], workdir, settings.iterations(5_000), settings.repeats)
    return _overheads(figures)


def _kind(settings: Settings, workdir: Workdir, text: bool) -> List[Row]:
    """
    Run scenario 4 with both libraries writing to a text or a binary file.
    """
    chained = _variant(
        settings, workdir, bare_chain,
        lambda m: chain(m[0].start_action, m[1].DeferredContext),
        lambda m: chain(m[0].start_action, m[1].DeferredContext), text,
    )
    coroutine = _variant(
        settings, workdir, lambda: ensureDeferred(_bare_coroutine()),
        lambda m: _coroutine(m[0].start_action), lambda m: _coroutine(m[0].start_action), text,
    )
    generator = _variant(
        settings, workdir, _bare_generator,
        lambda m: _generator(m[0].start_action, inlineCallbacks),
        lambda m: _generator(m[0].start_action, m[1].inline_callbacks), text,
    )
    measure_ = "overhead per action over bare work"
    configuration = f"{FILE}, {TEXT if text else BINARY}"
    return [
        compare(f"4 DeferredContext, {configuration}", measure_, "us", chained, ELIOT, 2,
                note="3 callbacks + addActionFinish, fired Deferred"),
        compare(f"4 inlineCallbacks, {configuration}", measure_, "us", generator, ELIOT,
                note="Eliot uses eliot.twisted.inline_callbacks"),
        compare(f"4 async def, {configuration}", measure_, "us", coroutine, ELIOT,
                note="via ensureDeferred"),
    ]


def run(settings: Settings, workdir: Workdir) -> List[Row]:
    """
    Run scenario 4 on binary then text files, or report it unavailable
    without C{txcausal.twisted}.
    """
    try:
        from txcausal.twisted import DeferredContext  # noqa: F401
    except ImportError:
        return [unavailable("4 DeferredContext", "overhead per action")]
    return [*_kind(settings, workdir, text=False), *_kind(settings, workdir, text=True)]
