"""
The manual's "Route existing logs to Eliot": standard library records
inside actions.
"""

import logging
import sys

from eliot import start_action, to_file
from eliot.stdlib import EliotHandler

LEGACY_LOGGER = logging.Logger("mypackage")


def do_a_thing(i):
    with start_action(action_type="mypackage:do_a_thing"):
        if i == 3:
            LEGACY_LOGGER.error("The number 3 is a bad number, don't use it.")
            raise ValueError("I hate the number 3")


def main():
    with start_action(action_type="mypackage:main"):
        for i in [1, 3]:
            try:
                do_a_thing(i)
            except ValueError:
                LEGACY_LOGGER.info("Number {} was rejected.".format(i))


LEGACY_LOGGER.addHandler(EliotHandler())
to_file(open(sys.argv[1], "ab"))
main()
try:
    raise KeyError("key")
except KeyError:
    LEGACY_LOGGER.exception("with a traceback")
