"""
The manual's "Using Types": Fields, fields(), MessageType, ActionType,
serializers, as_task, and serialization errors.
"""

import sys

from eliot import ActionType, Field, MessageType, fields, start_action, to_file

to_file(open(sys.argv[1], "ab"))


class Coordinate:
    def __init__(self, x, y):
        self.x = x
        self.y = y


_LOCATION = Field("location", lambda loc: [loc.x, loc.y], "The location.")
_COUNT = Field.for_types("count", [int], "The number of items to deliver.")
_NAME = Field.for_types("name", [str], "The name of the delivery person.")
LOG_DELIVERY_SCHEDULED = MessageType(
    "pizzadelivery:schedule", [_LOCATION, _COUNT, _NAME], "A pizza delivery has been scheduled.")

USERNAME = Field("username", lambda user: user.upper(), "The name of the user.")
AGE = Field.for_types("age", [int, None], "The age of the user, might be None if unknown")
LOG_USER_REGISTRATION = MessageType("yourapp:authentication:registration",
                                    fields(USERNAME, age=int), "We've just registered a user.")
LOG_USER_SIGNIN = ActionType("yourapp:authentication:signin", fields(username=str),
                             fields(status=int), "A user is attempting to sign in.")
VERSION = Field.for_value("version", 2, "The format's version.")
LOG_VERSIONED = MessageType("app:versioned", [VERSION])

LOG_DELIVERY_SCHEDULED.log(name="ada", count=3, location=Coordinate(1, 2))
LOG_DELIVERY_SCHEDULED(name="bob").bind(count=1, location=Coordinate(5, 6)).write()
LOG_USER_REGISTRATION.log(username="user", age=193)
LOG_USER_REGISTRATION(username="user").bind(age=193).write()
LOG_VERSIONED.log(version="ignored")


def signin(user, password):
    with LOG_USER_SIGNIN(username=user) as action:
        status = 200 if password == "secret" else 403
        action.add_success_fields(status=status)
    return status


signin("ada", "secret")
with start_action(action_type="app:batch"):
    signin("bob", "guess")
with LOG_USER_SIGNIN.as_task(username="eve") as action:
    action.add_success_fields(status=500)

# A serializer that fails: Eliot logs a traceback and a serialization
# failure instead of the message.
LOG_USER_REGISTRATION.log(username=12345, age=1)
