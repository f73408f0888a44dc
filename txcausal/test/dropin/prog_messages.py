"""
The manual's "Messages": Message.log, Message.new then write, bind,
log_message, messages inside actions, and a Logger of one's own.
"""

import sys
import warnings

from eliot import Logger, Message, log_message, start_action, to_file

warnings.simplefilter("ignore", DeprecationWarning)
to_file(open(sys.argv[1], "ab"))


class YourClass:
    logger = Logger()

    def run(self):
        Message.log(key=123, value="hello")
        msg = Message.new(key=123, value="hello")
        msg.write()
        msg2 = msg.bind(value="other", extra=456)
        msg2.write(self.logger)
        msg.write()


YourClass().run()
log_message(message_type="app:standalone", n=1)
with start_action(action_type="app:action"):
    Message.log(message_type="info", x=1)
    log_message(message_type="info", x=2)
    Message.new(message_type="info", x=3).write()
    Message.new(y=4).write(YourClass.logger)
