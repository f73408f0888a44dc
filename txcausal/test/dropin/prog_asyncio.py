"""
The manual's "Asyncio Coroutine Support": each coroutine has its own
context, and awaited coroutines inherit it.
"""

import asyncio
import sys

from eliot import log_message, start_action, to_file

to_file(open(sys.argv[1], "ab"))


async def child(name, delay):
    with start_action(action_type="app:child", name=name):
        await asyncio.sleep(delay)
        log_message(message_type="app:woke", name=name)


async def main():
    with start_action(action_type="app:main"):
        await child("first", 0)
        await asyncio.gather(child("a", 0.02), child("b", 0.01))
        log_message(message_type="app:done")


asyncio.run(main())
