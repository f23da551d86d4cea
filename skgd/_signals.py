"""Ctrl-C (SIGINT) handling shared by the training engine and ``skgd study``.

Only the main thread of a process receives signals, so elsewhere the block
runs with whatever handling is in force. A SIGINT that the program ignores
(``SIG_IGN``) stays ignored, and a handler not installed from Python is left
alone too.
"""

import signal
import threading
from contextlib import contextmanager


@contextmanager
def sigint_handled(handler):
    """Handle SIGINT with ``handler`` in the block, and restore it after.

    Parameters
    ----------
    handler : callable or signal.SIG_IGN
        Called with no argument on Ctrl-C (``signal.SIG_IGN`` ignores it).

    Yields
    ------
    installed : bool
        Whether the handler is in force (False off the main thread, or when
        SIGINT is ignored or handled outside Python).
    """
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main_thread else None
    if previous is None or previous is signal.SIG_IGN:
        yield False
        return
    if handler is not signal.SIG_IGN:
        function = handler
        handler = lambda signum, frame: function()  # noqa: E731
    signal.signal(signal.SIGINT, handler)
    try:
        yield True
    finally:
        signal.signal(signal.SIGINT, previous)
