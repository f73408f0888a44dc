# -*- test-case-name: txcausal.test.test_exports -*-
"""
txcausal: causal logging for Twisted programs.

Work is logged as actions that start and then succeed or fail, nested into
trees whose roots are tasks, so the log tells why something happened::

    import sys
    from txcausal import start_action, log_message, to_file

    to_file(sys.stdout)
    with start_action(action_type="app:checkout", cart=42):
        log_message(message_type="app:checkout:priced", total=99.5)

Each JSON line carries C{task_uuid} and C{task_level}, in Eliot's wire format,
so Eliot's tools read txcausal logs too.  The Twisted layer lives in
L{txcausal.twisted}, L{txcausal.logwriter}, L{txcausal.treq} and
L{txcausal.web}; test helpers in L{txcausal.testing}.
"""

from ._action import Action, start_action, start_task
from ._context import current_action, preserve_context
from ._errors import register_exception_extractor, write_traceback
from ._file import FileDestination, UnwritableFile
from ._interfaces import IAction, IDestination, ILogger
from ._ledger import Ledger
from ._logcall import log_call
from ._memory import MemoryLogger
from ._message import Message, log_message
from ._output import (
    Logger,
    add_destinations,
    add_global_fields,
    remove_destination,
    to_file,
)
from ._tasklevel import InvalidTaskId, TaskLevel
from ._types import ActionType, Field, MessageType, ValidationError, fields
from ._version import __version__

__all__ = [
    # Actions and tasks
    "Action",
    "TaskLevel",
    "InvalidTaskId",
    "start_action",
    "start_task",
    "current_action",
    "preserve_context",
    "log_call",
    # Messages
    "Message",
    "log_message",
    # Errors
    "write_traceback",
    "register_exception_extractor",
    # Types
    "Field",
    "fields",
    "MessageType",
    "ActionType",
    "ValidationError",
    # Output
    "ILogger",
    "IDestination",
    "Logger",
    "MemoryLogger",
    "FileDestination",
    "UnwritableFile",
    "add_destinations",
    "remove_destination",
    "add_global_fields",
    "to_file",
    # Topic events
    "Ledger",
    # Interfaces
    "IAction",
    "__version__",
]
