"""
The story of a key, and where the time goes, read back with txcausal.parse.

Run it with a directory to write into (made if missing):

    python examples/story_of_a_key.py /tmp/logs
    txcausal story order-2 /tmp/logs/shop.log
    txcausal stats /tmp/logs/shop.log

Each order binds its id once, when its task starts; nothing logged inside
repeats it.  The story of the id is still the whole task.
"""

import sys
from pathlib import Path

from twisted.internet.task import react

from txcausal import log_message, remove_destination, start_action, to_file
from txcausal.parse import action_stats, collect_story, parse_files


def handle(order_id: str, items: list) -> None:
    with start_action(action_type="shop:order", order_id=order_id):
        for sku in items:
            with start_action(action_type="shop:reserve", sku=sku):
                log_message(message_type="shop:stock", sku=sku, left=len(sku))


async def main(reactor: object, directory: str) -> None:
    Path(directory).mkdir(parents=True, exist_ok=True)
    log = Path(directory) / "shop.log"
    with open(log, "a") as file:
        destination = to_file(file)
        for number, items in enumerate([["plum"], ["fig", "kiwi"], ["lime"]], 1):
            handle(f"order-{number}", items)
        remove_destination(destination)
    stories, _ = collect_story(parse_files([str(log)]), ["order-2"])
    for story in stories:
        skus = sorted({m["sku"] for m in story.task.messages() if "sku" in m})
        print(f"story of order-2: task {story.task.uuid}, items {skus}")
    for row in action_stats(parse_files([str(log)])):
        print(f"{row.action_type}: {row.count} actions, slowest {row.max:.6f}s")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} DIRECTORY  (writes shop.log there)")
    react(main, sys.argv[1:])
