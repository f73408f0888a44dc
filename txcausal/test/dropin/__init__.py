"""
Programs written for Eliot 1.18, in the manner of its manual, that
L{txcausal.test.test_dropin} runs twice: as they are, and with their imports
of C{eliot} swapped for C{txcausal} (nothing else changed), comparing what
they log message by message.

To add a program, add a file C{prog_<name>.py} here:

  - it imports from Eliot with C{from eliot... import ...} (on one line or
    in parentheses) or C{import eliot}, which the swap rewrites (see
    L{txcausal.test._dropin_run.swap_imports}); with its imports swapped it
    cannot import C{eliot} at all, nor can the processes it starts;
  - code using Eliot's old spellings holds the line C{# swap:
    txcausal.compat}, and gets C{txcausal.compat} for C{eliot};
  - it logs JSON lines to the file named by C{sys.argv[1]} (C{to_file(open(
    sys.argv[1], "ab"))}, or its own destination writing there): a program
    that logs nothing under Eliot fails; it may print to standard output,
    which is compared too, and to standard error, where txcausal's run must
    write nothing that Eliot's does not;
  - a comment line C{# requires: module, module} names optional modules
    (e.g. C{cffi}, C{distributed}); the program is skipped, saying so,
    where one cannot be imported.
  - a program that writes to journald holds the line C{# read: journald}:
    the entries journald stored for the tasks it logged to its file are
    compared too (its message and its C{ELIOT_TASK}, C{ELIOT_TYPE},
    C{PRIORITY} and C{SYSLOG_IDENTIFIER}); it is skipped, saying why, where
    journald does not run and cannot be started, or C{libsystemd} is
    missing.

A difference the comparison finds fails the test unless it is one of the
documented ones, in C{KNOWN_DIFFERENCES} of L{txcausal.test._dropin_compare}
and the "Coming from Eliot" table of C{docs/quickstart.md}.
"""
