"""
Code written against Eliot's older spellings, as long-lived Twisted projects
have it (camelCase functions and methods, validateLogging, LoggedAction's
startMessage), run against txcausal.compat: it logs the same, and the tests
written with them pass.  Eliot's warnings and compat's are silenced.
"""
# swap: txcausal.compat

import json
import sys
import unittest
import warnings

import eliot
from eliot import (
    Action,
    ActionType,
    Field,
    MessageType,
    addDestination,
    addGlobalFields,
    removeDestination,
    startAction,
    startTask,
    writeTraceback,
)
from eliot.testing import LoggedAction, LoggedMessage, validateLogging

warnings.simplefilter("ignore", DeprecationWarning)
out = open(sys.argv[1], "a")


def to_out(message):
    out.write(json.dumps(message) + "\n")
    out.flush()


LOG_STATE = ActionType("node:discovery", [Field.forTypes("node", [str], "")],
                       [Field.forTypes("state", [str], "")], "Discovering a node's state.")
LOG_ERROR = MessageType("zfs:error", [Field.forValue("code", 2, "")], "A ZFS error.")


def discover(node):
    with LOG_STATE(node=node) as action:
        action.addSuccessFields(state="up")
        return action.serializeTaskId()


addGlobalFields(process="agent")
addDestination(to_out)
with startTask(action_type="node:loop"):
    task_id = discover("a")
with Action.continueTask(task_id=task_id):
    LOG_ERROR(code=2).write()
with LOG_STATE.asTask(node="b") as action:
    action.addSuccessFields(state="down")
try:
    with startAction(action_type="node:convergence"):
        raise ValueError("diverged")
except ValueError:
    writeTraceback()
removeDestination(to_out)


class OldSpellingTests(unittest.TestCase):
    def assertDiscovery(self, logger):
        action = LoggedAction.ofType(logger.messages, LOG_STATE)[0]
        self.assertEqual(action.startMessage["node"], "a")
        self.assertEqual(action.endMessage["state"], "up")
        self.assertEqual(LoggedMessage.ofType(logger.messages, LOG_ERROR), [])
        self.assertEqual(len(logger.flushTracebacks(KeyError)), 1)

    @validateLogging(assertDiscovery)
    def test_discovery(self, logger):
        with LOG_STATE(logger, node="a") as action:
            action.addSuccessFields(state="up")
            try:
                {}["key"]
            except KeyError:
                writeTraceback(logger)


result = unittest.TestResult()
unittest.defaultTestLoader.loadTestsFromTestCase(OldSpellingTests).run(result)
print("tests:", result.testsRun, "run,", [str(e[1]).splitlines()[-1]
                                           for e in result.failures + result.errors])
# Eliot's modules, reached from the package.
print("modules:", eliot.json.json_default({1}), eliot.testing.LoggedAction is LoggedAction)
