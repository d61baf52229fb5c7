"""A Python thread that counts while the main thread calls into vkbnn: the GIL tests' witness."""

import contextlib
import threading
import time

import numpy as np


@contextlib.contextmanager
def counting_thread():
    """Yields the list another thread appends perf_counter() ticks to until the block ends."""
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())

    counter = threading.Thread(target=count)
    counter.start()
    try:
        yield ticks
    finally:
        done.set()
        counter.join()


def windows_with_ticks_inside(ticks, windows):
    """How many (start, end) windows have a tick in their middle half. Holding the GIL through a
    call would leave none there: the counting thread could only run between calls."""
    ticks = np.array(ticks)
    return sum(bool(np.any((ticks > s + (e - s) / 4) & (ticks < e - (e - s) / 4))) for s, e in windows)
