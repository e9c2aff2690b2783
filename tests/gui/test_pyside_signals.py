"""Regression test for the PySide6 6.12.0 defect: every Signal.emit dropped a reference to True, so
after thousands of emits CPython 3.11 aborted with 'Fatal Python error: bool_dealloc'."""
import sys
import threading

from PySide6.QtCore import QObject, Signal, Slot


class Emitter(QObject):
    flag = Signal(bool)


class Receiver(QObject):
    def __init__(self):
        super().__init__()
        self.count = 0

    @Slot(bool)
    def on_flag(self, value):
        self.count += 1


def test_100k_cross_thread_emits_keep_the_reference_to_true(qapp):
    emitter, receiver = Emitter(), Receiver()
    emitter.flag.connect(receiver.on_flag)  # receiver lives in the main thread: queued across threads
    n = 100_000
    before = sys.getrefcount(True)

    def emit_all():
        for _ in range(n):
            emitter.flag.emit(True)

    thread = threading.Thread(target=emit_all)
    thread.start()
    while thread.is_alive() or receiver.count < n:
        qapp.processEvents()
        thread.join(timeout=0.001)
    qapp.processEvents()
    assert receiver.count == n
    assert sys.getrefcount(True) >= before - 100, "Signal.emit is leaking references to True"
