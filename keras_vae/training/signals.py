"""SIGINT and SIGTERM during training: raised as `KeyboardInterrupt`, never inside a checkpoint write."""

import contextlib
import signal
import threading


class Signals:
    """Turns SIGINT and SIGTERM into `KeyboardInterrupt`, held back while a checkpoint is written.

    Example:

        signals = Signals()
        with signals.installed():
            train(config, hold_signals=signals.hold)
    """

    def __init__(self):
        self.received = None
        self.holding = False
        self.pending = False

    def handle(self, signum, frame):
        self.received = signum
        if self.holding:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def hold(self):
        """Defers a signal received inside it until it is left."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self):
        """Installs the handlers (in the main thread only, where Python allows them)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {signum: signal.signal(signum, self.handle)
                    for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
