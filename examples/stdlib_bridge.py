"""
Routing standard library logging into txcausal: records from existing code
appear inside the actions that caused them.

    python examples/stdlib_bridge.py | txcausal tree
"""

import logging
import sys

from txcausal import start_action, to_file
from txcausal.stdlib import CausalHandler

# A logger left over from before the switch to txcausal.
LEGACY_LOGGER = logging.getLogger("mypackage")


def do_a_thing(i: int) -> None:
    with start_action(action_type="mypackage:do_a_thing", i=i):
        if i == 3:
            LEGACY_LOGGER.error("The number 3 is a bad number, don't use it.")
            raise ValueError("I hate the number 3")


def main() -> None:
    LEGACY_LOGGER.addHandler(CausalHandler())
    LEGACY_LOGGER.setLevel(logging.INFO)
    to_file(sys.stdout)
    with start_action(action_type="mypackage:main"):
        for i in [1, 3]:
            try:
                do_a_thing(i)
            except ValueError:
                LEGACY_LOGGER.info("Number %d was rejected.", i)


if __name__ == "__main__":
    main()
