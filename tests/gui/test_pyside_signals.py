"""Regression test for the PySide6 6.12.0 defect: every Signal.emit dropped a reference to True, so after
thousands of emits CPython 3.11 aborted with 'Fatal Python error: bool_dealloc'. The emits run in a child
process so that the abort shows up as a failed test instead of killing the test run."""
import subprocess
import sys
import textwrap

import PySide6

CHILD = textwrap.dedent("""
    import sys, threading
    from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

    class Emitter(QObject):
        flag = Signal(bool)

    class Receiver(QObject):
        def __init__(self):
            super().__init__()
            self.count = 0

        @Slot(bool)
        def on_flag(self, value):
            self.count += 1

    app = QCoreApplication([])
    emitter, receiver = Emitter(), Receiver()
    emitter.flag.connect(receiver.on_flag)  # the receiver lives in the main thread: queued across threads
    n = 100_000
    before = sys.getrefcount(True)
    thread = threading.Thread(target=lambda: [emitter.flag.emit(True) for _ in range(n)])
    thread.start()
    while thread.is_alive() or receiver.count < n:
        app.processEvents()
        thread.join(timeout=0.001)
    app.processEvents()
    print(receiver.count, sys.getrefcount(True) - before)
""")


def test_100k_cross_thread_emits_keep_the_reference_to_true():
    result = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"PySide6 {PySide6.__version__} crashed while emitting signals (exit {result.returncode}): "
        f"{result.stderr.strip().splitlines()[:1]} - pin a version without the bool_dealloc defect"
    )
    received, refcount_change = map(int, result.stdout.split())
    assert received == 100_000
    assert refcount_change >= -100, f"Signal.emit leaked {-refcount_change} references to True"
