# -*- test-case-name: txcausal.test.test_demo -*-
"""
C{txcausal demo}: log a small program's nested and failing actions to a
file, then show the file as a tree.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .._action import start_action, start_task
from .._logcall import log_call
from .._message import log_message
from .._output import remove_destination, to_file
from ._common import Streams, add_display_arguments, glyphs_for, palette_for
from ._tree import render_lines
from ._tree_text import TreeOptions

NAME = "demo"
HELP = "Log a small shop's checkouts to a file and show them as trees."

CATALOGUE = {"apple": 0.5, "pear": 0.75, "piano": 950.0}
CARD_LIMIT = 100.0


@log_call(action_type="shop:price", include_args=["sku"])
def _price(sku: str) -> float:
    return CATALOGUE[sku]


def _checkout(customer: str, cart: "list[str]") -> None:
    with start_task(action_type="shop:checkout", customer=customer, items=len(cart)) as action:
        total = 0.0
        for sku in cart:
            try:
                total += _price(sku)
            except KeyError:
                log_message(message_type="shop:unknown_item", sku=sku)
        with start_action(action_type="shop:charge", amount=total):
            if total > CARD_LIMIT:
                raise ValueError(f"{total} is over the card limit of {CARD_LIMIT}")
        action.add_success_fields(total=total)


def write_demo_log(path: Path) -> None:
    """
    Run the demo shop, logging to C{path}.
    """
    with path.open("wb") as f:
        destination = to_file(f)
        try:
            for customer, cart in [("ada", ["apple", "pear", "plum"]), ("bob", ["piano"])]:
                try:
                    _checkout(customer, cart)
                except ValueError:
                    pass
        finally:
            remove_destination(destination)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log", default="txcausal-demo.log", metavar="FILE",
                        help="where to write the log (default: %(default)s)")
    add_display_arguments(parser)


def run(args: argparse.Namespace, streams: Streams) -> int:
    path = Path(args.log)
    write_demo_log(path)
    streams.stdout.write(f"Logged two checkouts to {path}; as trees (txcausal tree {path}):\n\n")
    options = TreeOptions(
        utc=args.utc, glyphs=glyphs_for(args), palette=palette_for(args, streams.stdout)
    )
    with path.open("rb") as f:
        render_lines(f, streams.stdout, options)
    return 0
