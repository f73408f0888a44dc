"""
A Twisted REST API's logging over Eliot: a module Logger, a typed action
per request started with that logger passed by position, a task id handed
out as an incident identifier before the action is made current, errbacks
in the action (writeFailure with the logger), DeferredContext.result; and a
request continuing a task from a header, a malformed header refused with a
ValueError.
"""

import json
import sys

from eliot import (
    Action,
    ActionType,
    Field,
    Logger,
    MessageType,
    fields,
    to_file,
    writeFailure,
)
from eliot.twisted import DeferredContext
from twisted.internet.defer import fail, maybeDeferred, succeed

to_file(open(sys.argv[1], "ab"))

_logger = Logger()
REQUEST = ActionType("api:request", [Field.for_types("request_path", [str], "The path."),
                                     Field.for_types("method", [str], "The method.")],
                     [Field.for_types("code", [int], "The response code.")], "A request.")
LOG_JSON = MessageType("api:json", fields(size=int), "A JSON body was decoded.")


class BadRequest(Exception):
    code = 400


class Request:
    def __init__(self, path, method, headers=None):
        self.path = path
        self.method = method
        self.headers = headers or {}
        self.code = 200


def endpoint(original):
    def logged(request):
        action = REQUEST(_logger, request_path=request.path, method=request.method)
        incident = action.serialize_task_id()
        with action.context():
            d = DeferredContext(maybeDeferred(original, request))

        def failure(reason):
            if reason.check(BadRequest):
                request.code = reason.value.code
                return json.dumps({"error": str(reason.value)})
            writeFailure(reason, _logger)
            request.code = 500
            return json.dumps({"incident_level": incident.split(b"@")[1].decode("ascii")})

        d.addErrback(failure)
        d.addCallback(lambda body: action.add_success_fields(code=request.code) or body)
        d.addActionFinish()
        return d.result
    return logged


def remote(original):
    def continued(request):
        task_id = request.headers.get("X-Eliot-Task-Id")
        if task_id is None:
            return original(request)
        try:
            action = Action.continue_task(task_id=task_id)
        except ValueError:
            return original(request)
        with action.context():
            d = DeferredContext(maybeDeferred(original, request))
            d.addActionFinish()
            return d.result
    return continued


@endpoint
def get_config(request):
    LOG_JSON(size=2).write(_logger)
    return succeed(json.dumps({"ok": True}))


@endpoint
def post_config(request):
    return fail(BadRequest("no body"))


@endpoint
def crash(request):
    raise ZeroDivisionError("division by zero")


@remote
@endpoint
def traced(request):
    return succeed("traced")


for response in [get_config(Request("/v1/config", "GET")),
                 post_config(Request("/v1/config", "POST")), crash(Request("/v1/crash", "GET"))]:
    print(response.result)
with REQUEST(None, request_path="/client", method="GET") as client:
    header = client.serialize_task_id()
    client.add_success_fields(code=200)
print(traced(Request("/v1/traced", "GET", {"X-Eliot-Task-Id": header})).result)
print(traced(Request("/v1/traced", "GET", {"X-Eliot-Task-Id": b"garbage"})).result)
