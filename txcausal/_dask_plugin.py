# -*- test-case-name: txcausal.test.test_dask_cluster -*-
"""
L{CausalSchedulerPlugin}: the distributed scheduler's own story in the
causal log, each task transition and each structured event as a message.

Imported by L{txcausal.dask} only: it imports distributed.
"""

from __future__ import annotations

import contextvars
from typing import Any, Dict, Optional

from distributed.diagnostics.plugin import SchedulerPlugin

from ._dask_graph import key_text
from ._message import log_message

#: The message type of a task transition.
TRANSITION = "dask:transition"
#: The field of an event message holding what was logged.
EVENT_FIELD = "dask_event"


def _standalone(message_type: str, **fields: Any) -> None:
    """
    Log a message as a task of its own, whatever action the scheduler's
    thread is in (an asynchronous cluster shares the program's loop).
    """
    contextvars.Context().run(log_message, message_type, **fields)


class CausalSchedulerPlugin(SchedulerPlugin):
    """
    Logs, in the scheduler's process, every task transition as a
    C{dask:transition} message (C{key}, C{start}, C{finish},
    C{stimulus_id}, C{recommendations}, the C{worker} when there is one,
    and C{exception_text} for a task that erred), so that C{txcausal story
    KEY} tells from the log files what C{Scheduler.story(key)} tells while
    the cluster runs; and every event logged with C{log_event(topic, msg)}
    by the scheduler, a worker or a client, as a message whose type is the
    topic and whose C{dask_event} field is C{msg}.

    Register it with C{client.register_plugin(CausalSchedulerPlugin())};
    the scheduler's process must have a destination (for a scheduler of
    its own, C{client.run_on_scheduler(start_logging)}).
    """

    name = "txcausal"

    def __init__(self) -> None:
        self._scheduler: Optional[Any] = None

    async def start(self, scheduler: Any) -> None:
        """
        Keep the scheduler, to look up workers and recommendations.
        """
        self._scheduler = scheduler

    def transition(self, key: Any, start: str, finish: str, *args: Any,
                   stimulus_id: str = "", **kwargs: Any) -> None:
        """
        Log a task's transition.
        """
        fields: Dict[str, Any] = {"key": key_text(key), "start": start, "finish": finish,
                                  "stimulus_id": stimulus_id}
        worker = kwargs.get("worker") or self._worker_of(key)
        if worker:
            fields["worker"] = worker
        if kwargs.get("exception_text"):
            fields["exception_text"] = kwargs["exception_text"]
        fields["recommendations"] = self._recommendations(key, stimulus_id)
        _standalone(TRANSITION, **fields)

    def _worker_of(self, key: Any) -> Optional[str]:
        """
        @return: The worker processing the task, if one is.
        """
        task = self._scheduler.tasks.get(key) if self._scheduler is not None else None
        processing = getattr(task, "processing_on", None)
        return getattr(processing, "address", None)

    def _recommendations(self, key: Any, stimulus_id: str) -> Dict[str, str]:
        """
        @return: What the scheduler recommended next, as its transition log
            has it for this transition (logged just before plugins run).
        """
        log = getattr(self._scheduler, "transition_log", None)
        if not log:
            return {}
        last = log[-1]
        if last.key != key or last.stimulus_id != stimulus_id:
            return {}
        return {key_text(k): state for k, state in last.recommendations.items()}

    def log_event(self, topic: str, msg: Any) -> None:
        """
        Log a structured event under its topic.
        """
        _standalone(topic, **{EVENT_FIELD: msg})
