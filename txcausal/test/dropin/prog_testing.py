"""
The manual's "Unit Testing Your Logging": capture_logging and
validate_logging, assertions, LoggedAction and LoggedMessage, tracebacks,
a Logger of one's own, and swap_logger.  Each test's outcome and captured
messages are logged as JSON lines; a test that shows a documented
difference says which.
"""

import json
import sys
import unittest

from eliot import (
    ActionType,
    Logger,
    MemoryLogger,
    MessageType,
    fields,
    start_action,
    write_traceback,
)
from eliot.testing import (
    LoggedAction,
    LoggedMessage,
    assertContainsFields,
    assertHasAction,
    assertHasMessage,
    capture_logging,
    swap_logger,
    validate_logging,
)

OUT = open(sys.argv[1], "a")

LOG_USER_REGISTRATION = MessageType("yourapp:authentication:registration",
                                    fields(username=str, password=str, age=int),
                                    "We've just registered a new user.")
LOG_SEARCH = ActionType("searcher:search", fields(database=str, key=str), fields(found=bool),
                        "A search.")
LOG_CHECK = MessageType("searcher:check", fields(server=str), "A server was checked.")


class UserRegistration:
    logger = Logger()

    def __init__(self):
        self.db = {}

    def register(self, username, password, age):
        self.db[username] = (password, age)
        LOG_USER_REGISTRATION(username=username, password=password, age=age).write(self.logger)


class Search:
    def search(self, servers, database, key):
        with LOG_SEARCH(database=database, key=key) as action:
            for server in servers:
                LOG_CHECK(server=server).write()
                if server == "found":
                    action.add_success_fields(found=True)
                    return True
            action.add_success_fields(found=False)
            return False


def dump(name, logger):
    for message in logger.messages:
        OUT.write(json.dumps({"test": name, **message}, default=repr) + "\n")


class LoggingTests(unittest.TestCase):
    def assertRegistrationLogging(self, logger):
        dump("registration", logger)
        self.assertEqual(len(logger.messages), 1)
        logged = LoggedMessage.of_type(logger.messages, LOG_USER_REGISTRATION)[0]
        assertContainsFields(self, logged.message, {"username": "john", "age": 12})

    @validate_logging(assertRegistrationLogging)
    def test_registration(self, logger):
        registry = UserRegistration()
        registry.logger = logger
        registry.register("john", "password", 12)
        self.assertEqual(registry.db["john"], ("password", 12))

    @capture_logging(assertHasMessage, LOG_USER_REGISTRATION, {"username": "john", "age": 12})
    def test_registrationCaptured(self, logger):
        previous = UserRegistration.logger
        UserRegistration.logger = None
        try:
            UserRegistration().register("john", "password", 12)
        finally:
            UserRegistration.logger = previous
        dump("captured", logger)

    def assertSearch(self, logger):
        dump("search", logger)
        action = assertHasAction(self, logger, LOG_SEARCH, True,
                                 startFields={"database": "users", "key": "theuser"},
                                 endFields={"found": True})
        messages = LoggedMessage.of_type(logger.messages, LOG_CHECK)
        self.assertEqual(action.children, messages)
        self.assertEqual([m.message["server"] for m in messages], ["a", "found"])
        self.assertEqual(len(list(action.descendants())), 2)
        self.assertTrue(action.succeeded)
        self.assertEqual(LoggedAction.of_type(logger.messages, LOG_SEARCH)[0], action)

    @capture_logging(assertSearch)
    def test_search(self, logger):
        self.assertTrue(Search().search(["a", "found", "b"], "users", "theuser"))

    def assertTracebackFlushed(self, logger):
        dump("flushed", logger)
        messages = logger.flush_tracebacks(OSError)
        self.assertEqual(len(messages), 1)

    @capture_logging(assertTracebackFlushed)
    def test_tracebackFlushed(self, logger):
        try:
            open("/nonexistent/path")
        except OSError:
            write_traceback()

    @capture_logging(None)
    def test_unflushedTraceback(self, logger):
        with start_action(action_type="app:a"):
            try:
                raise KeyError("surprise")
            except KeyError:
                write_traceback()

    @capture_logging(None)
    def test_invalidMessage(self, logger):
        LOG_CHECK(server=123).write()

    @capture_logging(None)
    def test_unencodableValue(self, logger):
        with start_action(action_type="app:a", value=object()):
            pass

    @capture_logging(None)
    def test_flushInCleanup(self, logger):
        self.addCleanup(logger.flush_tracebacks, KeyError)
        try:
            {}["k"]
        except KeyError:
            write_traceback()

    @capture_logging(assertHasMessage, LOG_CHECK, {"server": "stopping"})
    def test_loggedByCleanup(self, logger):
        self.addCleanup(lambda: LOG_CHECK(server="stopping").write())

    @capture_logging(lambda self, logger: dump("after failure", logger))
    def test_assertionAfterFailure(self, logger):
        LOG_CHECK(server="failing").write()
        self.fail("the body")

    def test_swapLogger(self):
        logger = MemoryLogger()
        previous = swap_logger(logger)
        try:
            with start_action(action_type="app:swapped"):
                pass
        finally:
            swap_logger(previous)
        dump("swapped", logger)
        logger.validate()


SHOWS = {"test_unflushedTraceback": "test failures", "test_invalidMessage": "test failures",
         "test_unencodableValue": "unencodable values in tests"}


class Outcomes(unittest.TestResult):
    def record(self, test, outcome):
        name = test.id().rsplit(".", 1)[-1]
        record = {"test": name, "outcome": outcome}
        if name in SHOWS:
            record["shows"] = SHOWS[name]
        OUT.write(json.dumps(record) + "\n")

    def addSuccess(self, test):
        self.record(test, "ok")

    def addFailure(self, test, err):
        self.record(test, "failure")

    def addError(self, test, err):
        self.record(test, "error")


unittest.defaultTestLoader.loadTestsFromTestCase(LoggingTests).run(Outcomes())
OUT.close()
