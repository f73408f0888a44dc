"""
Tests for L{txcausal._types}: fields, message types and action types.
"""

from __future__ import annotations

from typing import Any, Dict, List

from twisted.trial.unittest import SynchronousTestCase

from txcausal import ActionType, Field, MemoryLogger, Message, MessageType, ValidationError, fields

from ._helpers import CapturingMixin, IsolatedOutputMixin


class FieldTests(SynchronousTestCase):
    """
    L{Field} serialization and validation.
    """

    def test_serialize(self) -> None:
        """
        A field serializes values with its serializer.
        """
        self.assertEqual(Field("p", lambda p: [p.real, p.imag], "point").serialize(1 + 2j),
                         [1.0, 2.0])

    def test_extraValidator(self) -> None:
        """
        The extra validator rejects values by raising L{ValidationError}.
        """

        def positive(v: int) -> None:
            if v < 0:
                raise ValidationError("negative")

        field = Field("age", int, "", positive)
        field.validate(3)
        self.assertRaises(ValidationError, field.validate, -1)

    def test_unserializableFailsValidation(self) -> None:
        """
        A value the serializer cannot handle fails validation.
        """
        self.assertRaises(ValidationError, Field("n", int).validate, "x")

    def test_forValue(self) -> None:
        """
        L{Field.for_value} accepts only its value, and serializes to it.
        """
        field = Field.for_value("kind", "a", "")
        field.validate("a")
        self.assertRaises(ValidationError, field.validate, "b")
        self.assertEqual(field.serialize("anything"), "a")

    def test_forTypes(self) -> None:
        """
        L{Field.for_types} accepts instances of its types, C{None} standing
        for C{NoneType}.
        """
        field = Field.for_types("n", [int, None], "")
        field.validate(1)
        field.validate(None)
        self.assertRaises(ValidationError, field.validate, "1")

    def test_forTypesRejectsNonJSONTypes(self) -> None:
        """
        L{Field.for_types} refuses types JSON cannot carry.
        """
        self.assertRaises(TypeError, Field.for_types, "x", [object])

    def test_fields(self) -> None:
        """
        L{fields} mixes L{Field}s and C{key=type} pairs.
        """
        username = Field.for_types("username", [str])
        result = fields(username, age=int)
        self.assertEqual([f.key for f in result], ["username", "age"])
        self.assertRaises(ValidationError, result[1].validate, "old")


class MessageTypeTests(CapturingMixin, IsolatedOutputMixin, SynchronousTestCase):
    """
    L{MessageType}.
    """

    REGISTRATION = MessageType("app:registration", fields(username=str, age=int), "Registered.")

    def test_log(self) -> None:
        """
        L{MessageType.log} writes a valid message of its type.
        """
        logger = self.capture()
        self.REGISTRATION.log(username="john", age=12)
        self.assertEqual(logger.messages[0]["message_type"], "app:registration")
        logger.validate()

    def test_callGivesMessage(self) -> None:
        """
        Calling the type gives a L{Message} that can be bound and written.
        """
        logger = self.capture()
        message = self.REGISTRATION(username="john")
        self.assertIsInstance(message, Message)
        message.bind(age=193).write()
        self.assertEqual((logger.messages[0]["username"], logger.messages[0]["age"]),
                         ("john", 193))
        logger.validate()

    def test_validationFailures(self) -> None:
        """
        Missing, extra or badly typed fields fail validation.
        """
        bad_fields: List[Dict[str, Any]] = [
            dict(username="john"), dict(username="john", age=1, extra=2),
            dict(username="john", age="1")]
        for bad in bad_fields:
            logger = MemoryLogger()
            self.REGISTRATION(**bad).write(logger)
            self.assertRaises(ValidationError, logger.validate)

    def test_reservedFieldName(self) -> None:
        """
        A message type may not define the fields txcausal sets itself.
        """
        self.assertRaises(ValueError, MessageType, "t", fields(task_uuid=str))

    def test_handOffFieldNamesReserved(self) -> None:
        """
        Neither may a message type or an action type define the fields a
        finish message lists handed-off positions in: the error names the
        field.
        """
        for name in ["remote_task_levels", "retried_task_levels", "unsent_task_levels"]:
            error = self.assertRaises(ValueError, MessageType, "t", fields(**{name: list}))
            self.assertIn(repr(name), str(error))
            for started, succeeded in [([], fields(**{name: list})),
                                       (fields(**{name: list}), [])]:
                error = self.assertRaises(ValueError, ActionType, "app:t", started, succeeded)
                self.assertIn(repr(name), str(error))

    def test_duplicateFieldName(self) -> None:
        """
        A message type may not define a field twice.
        """
        self.assertRaises(ValueError, MessageType, "t", fields(Field.for_types("a", [int]), a=str))


class ActionTypeTests(CapturingMixin, IsolatedOutputMixin, SynchronousTestCase):
    """
    L{ActionType}.
    """

    SIGNIN = ActionType("app:signin", fields(username=str), fields(status=int), "Sign in.")

    def test_success(self) -> None:
        """
        Calling the type starts an action whose messages validate.
        """
        logger = self.capture()
        with self.SIGNIN(username="john") as action:
            action.add_success_fields(status=200)
        self.assertEqual([m["action_status"] for m in logger.messages], ["started", "succeeded"])
        self.assertEqual(logger.messages[0]["action_type"], "app:signin")
        logger.validate()

    def test_failure(self) -> None:
        """
        A failed typed action validates, with its exception fields.
        """
        logger = self.capture()
        with self.assertRaises(OSError):
            with self.SIGNIN(username="john"):
                raise OSError(13, "denied")
        self.assertEqual(logger.messages[1]["errno"], 13)
        logger.validate()

    def test_missingSuccessField(self) -> None:
        """
        A success message missing a declared field fails validation.
        """
        logger = self.capture()
        with self.SIGNIN(username="john"):
            pass
        self.assertRaises(ValidationError, logger.validate)

    def test_undeclaredClientFieldsFailValidation(self) -> None:
        """
        A typed action's success message with an undeclared
        C{retried_task_levels} or C{unsent_task_levels} fails validation, as
        any undeclared field does: only the fields txcausal adds to every
        action's messages (and C{remote_task_levels}) are always allowed.
        """
        for name in ["retried_task_levels", "unsent_task_levels"]:
            logger = self.capture()
            with self.SIGNIN(username="john") as action:
                action.add_success_fields(status=200, **{name: ["/1"]})
            error = self.assertRaises(ValidationError, logger.validate)
            self.assertIn(repr(name), str(error))

    def test_remoteTaskLevelsValidate(self) -> None:
        """
        A typed action that handed its position to another process
        validates with the C{remote_task_levels} txcausal adds.
        """
        logger = self.capture()
        with self.SIGNIN(username="john") as action:
            action.add_success_fields(status=200)
            action.serialize_task_id()
        self.assertIn("remote_task_levels", logger.messages[1])
        logger.validate()

    def test_asTask(self) -> None:
        """
        L{ActionType.as_task} starts a new task inside another action.
        """
        logger = self.capture()
        with self.SIGNIN(username="a") as outer:
            outer.add_success_fields(status=1)
            with self.SIGNIN.as_task(username="b") as inner:
                inner.add_success_fields(status=2)
        self.assertNotEqual(inner.task_uuid, outer.task_uuid)
        self.assertEqual(logger.messages[1]["task_level"], [1])
        logger.validate()
