"""Exit codes: an API. Scripts, cron jobs and monitoring read them, so a value never changes
meaning; the README's table is checked against this enum by a test.

0-3 follow the monitoring-plugin convention (Nagios, Icinga, Sensu): OK, WARNING, CRITICAL,
UNKNOWN. 64-78 are the BSD ``sysexits.h`` codes for "you called me wrong" and "the setup is
wrong". 129, 130, 141 and 143 are what a shell reports for a process ended by SIGHUP, SIGINT,
SIGPIPE and SIGTERM.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Everything checked is fine (every store HEALTHY or OFF; an inspect that could read)."""
    WARNING = 1
    """Something is degraded: a store is STALE."""
    CRITICAL = 2
    """Something is broken: a store UNAVAILABLE or DISAGREEING, the API unreachable."""
    UNKNOWN = 3
    """Nothing worse than OK, but something could not be verified (a store NOT CONFIGURED)."""
    USAGE = 64
    """EX_USAGE: a bad argument, flag value, key or keys file; the message names it."""
    UNAVAILABLE = 69
    """EX_UNAVAILABLE: something ldtui needs is missing (an extra not installed, a port taken,
    a local store that cannot start)."""
    CONFIG = 78
    """EX_CONFIG: the configuration file or an LDTUI_* variable is wrong; the message names
    the file, line and field (or the variable)."""
    HANGUP = 129
    """The terminal went away (128 + SIGHUP, or a closed pty): the TUI left, stopping what it
    started."""
    INTERRUPTED = 130
    """Ctrl-C (128 + SIGINT)."""
    CLOSED_PIPE = 141
    """The reader of stdout went away (``ldtui inspect ... | head``; 128 + SIGPIPE)."""
    TERMINATED = 143
    """Stopped by SIGTERM (128 + SIGTERM), after stopping what it started."""


MONITORING = (ExitCode.OK, ExitCode.WARNING, ExitCode.CRITICAL, ExitCode.UNKNOWN)
