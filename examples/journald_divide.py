"""
Log to systemd's journal, through a ThreadedWriter so that the reactor never
waits for journald, then query the entries with journalctl:

    python journald_divide.py
    journalctl --all --output cat ELIOT_TYPE=inbetween | txcausal pretty
    journalctl --all --output cat --priority=err ELIOT_TYPE=divide
    journalctl --all --output cat ELIOT_TASK=<uuid printed> | txcausal tree
"""

from twisted.internet.task import react

from txcausal import log_message, start_action
from txcausal.journald import JournaldDestination
from txcausal.logwriter import ThreadedWriter


def divide(a, b):
    with start_action(action_type="divide", a=a, b=b) as action:
        print(f"{a} / {b}: task {action.task_uuid}")
        return a / b


async def main(reactor):
    writer = ThreadedWriter(JournaldDestination(), reactor)
    writer.startService()
    try:
        print("=", divide(10, 2))
        log_message(message_type="inbetween")
        try:
            divide(10, 0)
        except ZeroDivisionError as e:
            print("failed:", e)
    finally:
        # Wait until journald has every message.
        await writer.stopService()


if __name__ == "__main__":
    react(main, [])
