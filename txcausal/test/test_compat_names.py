"""
Tests for L{txcausal.compat}: Eliot's old spellings, each warning with the
new one, and the one-spelling rule of the rest of the API.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import logging
import pkgutil
import re
import warnings
from datetime import date
from functools import partial
from typing import Any, Callable, Iterator, List, Set, Tuple

import eliot
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, SynchronousTestCase

import txcausal
import txcausal.compat as compat
import txcausal.json
from txcausal import Action, MemoryLogger, TaskLevel, start_action, to_file
from txcausal.testing import LoggedAction

from ._helpers import IsolatedOutputMixin, docs_dir


def warned(f: Callable[[], Any]) -> "tuple[Any, List[str]]":
    """
    @return: What C{f()} returned, and the texts of the
        L{DeprecationWarning}s it raised.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = f()
    return result, [str(w.message) for w in caught if w.category is DeprecationWarning]


#: Eliot's keywords that txcausal spells otherwise, each in the "Coming from
#: Eliot" table: by position they work the same.
RENAMED_KEYWORDS = [
    "eliot.ActionType.__init__(startFields=)", "eliot.ActionType.__init__(successFields=)",
    "eliot.Field.__init__(extraValidator=)", "eliot.Field.forTypes(extraValidator=)",
    "eliot.Field.for_types(extraValidator=)", "eliot.Field.serialize(input=)",
    "eliot.Field.validate(input=)", "eliot.MemoryLogger.flushTracebacks(exceptionType=)",
    "eliot.MemoryLogger.flush_tracebacks(exceptionType=)",
    "eliot.testing.LoggedAction.fromMessages(uuid=)",
    "eliot.testing.LoggedAction.fromMessages(level=)",
    "eliot.testing.LoggedAction.from_messages(uuid=)",
    "eliot.testing.LoggedAction.from_messages(level=)",
    "eliot.testing.LoggedAction.ofType(actionType=)",
    "eliot.testing.LoggedAction.of_type(actionType=)",
    "eliot.testing.LoggedMessage.ofType(messageType=)",
    "eliot.testing.LoggedMessage.of_type(messageType=)",
]

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _eliot_counterparts() -> Iterator[Tuple[str, Any, Any]]:
    """
    @return: Each public name of Eliot 1.18's modules that txcausal has
        (in its module of the same name, or in C{txcausal.compat}), with
        Eliot's object and txcausal's; C{journald} and C{dask} where Eliot's
        can be imported.
    """
    for module in ["", "testing", "twisted", "logwriter", "stdlib", "json", "prettyprint",
                   "filter", "tai64n", "serializers", "journald", "dask"]:
        try:
            theirs = importlib.import_module("eliot" + ("." + module if module else ""))
        except ImportError:
            continue
        ours = importlib.import_module("txcausal" + ("." + module if module else ""))
        public = getattr(theirs, "__all__", None) or [
            n for n, v in vars(theirs).items() if getattr(v, "__module__", None) == theirs.__name__]
        for name in public:
            mine = getattr(ours, name, None) or getattr(compat, name, None)
            if not name.startswith("_") and mine is not None:
                yield f"{theirs.__name__}.{name}", getattr(theirs, name), mine


def _signatures(name: str, theirs: Any, ours: Any
                ) -> List[Tuple[str, inspect.Signature, inspect.Signature]]:
    """
    @return: The signatures of a function, or of a class's constructor and
        public methods, Eliot's and txcausal's (compat's old names read
        without their warnings).
    """
    signatures = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pairs = [(name, theirs, ours)]
        if inspect.isclass(theirs) and inspect.isclass(ours):
            pairs = [(f"{name}.{m}", getattr(theirs, m), getattr(ours, m)) for m in dir(theirs)
                     if (m == "__init__" or not m.startswith("_")) and hasattr(ours, m)
                     and callable(getattr(theirs, m))]
        for where, their_function, our_function in pairs:
            try:
                signatures.append((where, inspect.signature(their_function),
                                   inspect.signature(our_function)))
            except (TypeError, ValueError):
                continue
    return signatures

class NamespaceTests(SynchronousTestCase):
    """
    C{txcausal.compat} stands in for C{eliot}'s top level.
    """

    def test_everyEliotName(self) -> None:
        """
        Every name of C{eliot.__all__} is there (but Eliot's private
        C{_parse}).
        """
        missing = [n for n in eliot.__all__ if n != "_parse" and not hasattr(compat, n)]
        self.assertEqual(missing, [])
        self.assertEqual(sorted(compat.__all__), sorted(set(compat.__all__)))

    def test_everyPublicEliotName(self) -> None:
        """
        Each public name of Eliot 1.18's modules is in txcausal's module of
        the same name, or in C{txcausal.compat}, or documented as different.
        """
        missing = []
        for name in ["", "testing", "twisted", "logwriter", "stdlib", "json", "prettyprint",
                     "filter", "tai64n", "serializers", "parse"]:
            missing.extend(missing_names(name, DOCUMENTED))
        self.assertEqual(missing, [])

    def test_integrationNames(self) -> None:
        """
        Each public name of Eliot's C{journald} and C{dask} modules is in
        txcausal's module of the same name, but C{sd_journal_send}, which
        is documented as different.
        """
        missing = []
        for name in ["journald", "dask"]:
            try:
                importlib.import_module("eliot." + name)
            except ImportError as e:
                raise SkipTest(f"eliot.{name} cannot be imported here: {e}") from None
            missing.extend(missing_names(name, DOCUMENTED))
        self.assertEqual(missing, [])

    def test_differencesDocumented(self) -> None:
        """
        The names that txcausal's modules lack are in the Coming from Eliot
        table.
        """
        text = (docs_dir() / "quickstart.md").read_text(encoding="utf-8")
        table = text[text.index("| Eliot 1.18 | txcausal |"):]
        for name in sorted(DOCUMENTED):
            self.assertIn(name.rpartition(".")[2], table, name)

    def test_everyKeyword(self) -> None:
        """
        Each parameter of Eliot 1.18's public functions, and of the methods
        of its public classes, is a parameter of txcausal's of the same
        name, so that calls by keyword run too; or it is one of the
        keywords the "Coming from Eliot" table lists as renamed.
        """
        renamed = []
        for name, theirs, ours in _eliot_counterparts():
            for where, their_signature, our_signature in _signatures(name, theirs, ours):
                accepted = set(our_signature.parameters)
                if any(p.kind is p.VAR_KEYWORD for p in our_signature.parameters.values()):
                    continue
                renamed += [f"{where}({parameter}=)" for parameter, p in
                            their_signature.parameters.items()
                            if parameter not in accepted and p.kind in _NAMED]
        self.assertEqual(sorted(set(renamed) - set(RENAMED_KEYWORDS)), [])
        table = (docs_dir() / "quickstart.md").read_text()
        for keyword in RENAMED_KEYWORDS:
            self.assertIn(f"`{keyword.split('(')[-1][:-1]}`", table, keyword)

    def test_currentNamesAreTxcausals(self) -> None:
        """
        The current names are txcausal's own objects.
        """
        for name in compat.__all__:
            if hasattr(txcausal, name):
                self.assertIs(getattr(compat, name), getattr(txcausal, name), name)


#: The public names of Eliot's modules that txcausal's lack, documented.
DOCUMENTED = {"parse.WrittenMessage", "journald.sd_journal_send"}


def missing_names(name: str, documented: Set[str]) -> List[str]:
    """
    @param name: The name of one of Eliot's modules, C{""} for C{eliot}.
    @param documented: The names (C{"module.name"}) documented as
        different.
    @return: The public names of that module in neither txcausal's module
        of the same name nor C{txcausal.compat}, nor documented.
    """
    theirs = importlib.import_module("eliot" + ("." + name if name else ""))
    ours = importlib.import_module("txcausal" + ("." + name if name else ""))
    public = getattr(theirs, "__all__", None) or [
        n for n, v in vars(theirs).items() if getattr(v, "__module__", None) == theirs.__name__]
    return [f"{theirs.__name__}.{attribute}" for attribute in public
            if not attribute.startswith("_") and f"{name}.{attribute}" not in documented
            and not (hasattr(ours, attribute) or hasattr(compat, attribute))]


class OldSpellingTests(IsolatedOutputMixin, SynchronousTestCase):
    """
    Each old spelling works, and warns with its new spelling.
    """

    def test_functions(self) -> None:
        """
        C{startAction}, C{startTask}, C{writeTraceback},
        C{addDestination}, C{add_destination}, C{removeDestination} and
        C{addGlobalFields} call txcausal's functions.
        """
        self.isolate()
        messages: List[Any] = []

        def discard(message: Any) -> None:
            pass

        _, texts = warned(lambda: compat.addDestination(messages.append))
        self.assertEqual(texts, ["addDestination is deprecated: use txcausal.add_destinations"])
        calls = [
            (lambda: compat.addGlobalFields(app="x"), "txcausal.add_global_fields"),
            (lambda: compat.startAction(action_type="a").finish(), "txcausal.start_action"),
            (lambda: compat.startTask(action_type="t").finish(), "txcausal.start_task"),
            (lambda: compat.add_destination(discard), "txcausal.add_destinations"),
            (lambda: compat.removeDestination(discard), "txcausal.remove_destination"),
        ]
        for call, new in calls:
            _, texts = warned(call)
            self.assertEqual(len(texts), 1)
            self.assertTrue(texts[0].endswith("use " + new), texts)
        try:
            raise KeyError("k")
        except KeyError:
            warned(compat.writeTraceback)
        self.assertEqual([m.get("action_type", m.get("message_type")) for m in messages],
                         ["a", "a", "t", "t", "eliot:traceback"])
        self.assertEqual(messages[0]["app"], "x")

    def test_writeFailure(self) -> None:
        """
        C{eliot.writeFailure} and C{write_failure} are
        L{txcausal.twisted.writeFailure}.
        """
        messages = self.collect()
        for name in ("writeFailure", "write_failure"):
            _, texts = warned(partial(getattr(compat, name), Failure(ValueError("v"))))
            self.assertEqual(texts, [f"eliot.{name} is deprecated: use "
                                     "txcausal.twisted.writeFailure"])
        self.assertEqual([m["reason"] for m in messages], ["v", "v"])

    def test_warningPointsAtCaller(self) -> None:
        """
        The warning is attributed to the code that used the old name.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compat.use_asyncio_context()
        self.assertEqual(caught[0].filename, __file__)

    def test_methods(self) -> None:
        """
        Importing C{txcausal.compat} gives the classes their Eliot method
        names, warning with the new ones.
        """
        self.collect()
        action_class: Any = Action
        level_class: Any = TaskLevel
        logged_class: Any = LoggedAction
        field_class: Any = txcausal.Field
        action: Any = start_action(action_type="a")
        _, texts = warned(lambda: action.addSuccessFields(x=1))
        self.assertEqual(texts, ["Action.addSuccessFields is deprecated: "
                                 "use Action.add_success_fields"])
        task_id, texts = warned(lambda: action.serializeTaskId())
        self.assertEqual(len(texts), 1)
        continued, texts = warned(lambda: action_class.continueTask(task_id=task_id))
        self.assertEqual((continued.task_uuid, len(texts)), (action.task_uuid, 1))
        level, texts = warned(lambda: level_class.fromString("/1/2"))
        self.assertEqual((level, warned(lambda: level.toString())[0]), (TaskLevel([1, 2]), "/1/2"))
        logger: Any = MemoryLogger()
        self.assertEqual(warned(lambda: logger.flushTracebacks(KeyError))[0], [])
        self.assertEqual(warned(lambda: logged_class.ofType([], "a"))[0], [])
        field, _ = warned(lambda: field_class.forTypes("n", [int], "a number"))
        self.assertEqual(field.key, "n")

    def test_loggedActionMessages(self) -> None:
        """
        C{LoggedAction.startMessage} and C{endMessage}, Eliot's names of
        the start and end messages, warn with the new ones.
        """
        messages = [{"task_uuid": "u", "task_level": [1], "action_type": "a",
                     "action_status": "started"},
                    {"task_uuid": "u", "task_level": [2], "action_type": "a",
                     "action_status": "succeeded"}]
        action: Any = LoggedAction.of_type(messages, "a")[0]
        start, texts = warned(lambda: action.startMessage)
        self.assertEqual((start, texts), (messages[0], ["LoggedAction.startMessage is deprecated: "
                                                        "use LoggedAction.start_message"]))
        self.assertEqual(warned(lambda: action.endMessage)[0], messages[1])

    def test_methodsAreOnlyInCompat(self) -> None:
        """
        The only camelCase names of the core classes are compat's old
        names: the main API has one spelling each.
        """
        camel = re.compile(r"^[a-z]+[A-Z]")
        classes = {cls for cls, _, _ in compat.METHOD_NAMES}
        for cls in classes:
            for name, value in vars(cls).items():
                if camel.match(name):
                    self.assertIsInstance(value, compat._OldName, f"{cls.__name__}.{name}")

    def test_classes(self) -> None:
        """
        C{EliotHandler}, C{EliotFilter} and C{EliotJSONEncoder} work and
        warn; an C{EliotJSONEncoder} subclass is accepted as C{encoder=},
        as the manual shows, and each warns, naming C{json_default=}.
        """
        self.isolate()
        handler, texts = warned(compat.EliotHandler)
        self.assertIsInstance(handler, logging.Handler)
        self.assertEqual(texts, ["EliotHandler is deprecated: use txcausal.stdlib.CausalHandler"])
        out = io.StringIO()
        _, texts = warned(lambda: compat.EliotFilter("J", ['{"a": 1}'], out).run())
        self.assertEqual((out.getvalue(), len(texts)), ('{"a": 1}\n', 1))

        class Money:
            cents = 5

        class MyEncoder(compat.EliotJSONEncoder):
            def default(self, obj: Any) -> Any:
                if isinstance(obj, Money):
                    return {"cents": obj.cents}
                return compat.EliotJSONEncoder.default(self, obj)

        data = io.BytesIO()
        _, texts = warned(lambda: to_file(data, encoder=MyEncoder))
        warned(lambda: txcausal.log_message(message_type="m", m=Money(), s={1}))
        self.assertEqual(json.loads(data.getvalue())["m"], {"cents": 5})
        self.assertEqual(len(texts), 2)
        self.assertTrue(all("json_default=" in text for text in texts), texts)
        encoded, _ = warned(lambda: json.dumps({"day": date(2024, 5, 1), "m": Money()},
                                               cls=compat.EliotJSONEncoder))
        self.assertEqual(json.loads(encoded)["day"], "2024-05-01")
        self.assertRegex(json.loads(encoded)["m"], "^<.*Money object at ")

    def test_submodules(self) -> None:
        """
        Each public module of Eliot's package is an attribute of
        C{txcausal.compat}, as of C{eliot}: txcausal's module of the same
        name.  Another name is an L{AttributeError}.
        """
        theirs = {m.name for m in pkgutil.iter_modules(eliot.__path__)
                  if not m.name.startswith("_") and m.name != "tests"}
        self.assertEqual(compat.SUBMODULES, theirs)
        for name in sorted(theirs):
            self.assertIs(getattr(compat, name), importlib.import_module(f"txcausal.{name}"))
        self.assertIs(compat.json.json_default, txcausal.json.json_default)
        self.assertRaises(AttributeError, getattr, compat, "nosuchmodule")

    def test_submodulesNotByDottedName(self) -> None:
        """
        C{from txcausal.compat import testing} works; the dotted name
        C{txcausal.compat.testing} does not (a module, not a package), as
        the quickstart's table says.
        """
        from txcausal.compat import testing

        self.assertIs(testing, txcausal.testing)
        self.assertRaises(ModuleNotFoundError, importlib.import_module, "txcausal.compat.testing")

    def test_issuperset(self) -> None:
        """
        C{issuperset} tells whether a dict has another's items.
        """
        self.assertEqual(warned(lambda: compat.issuperset({"a": 1, "b": 2}, {"a": 1})),
                         (True, ["issuperset is deprecated: use "
                                 "txcausal.testing.assertContainsFields"]))
        self.assertFalse(warned(lambda: compat.issuperset({"a": 1}, {"a": 2}))[0])

    def test_validateLogging(self) -> None:
        """
        C{validateLogging} is L{txcausal.testing.validate_logging}.
        """
        decorator, texts = warned(lambda: compat.validateLogging(None))
        self.assertTrue(callable(decorator))
        self.assertEqual(texts, ["validateLogging is deprecated: use "
                                 "txcausal.testing.validate_logging"])
        self.assertIn("assertion", inspect.signature(compat.validateLogging).parameters)
