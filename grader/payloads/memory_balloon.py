import multiprocessing
import time


def hold(ready) -> None:
    """One part of a balloon spread over many processes (each under any per-process limit)."""
    block = bytearray(400 * 2**20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page
    ready.set()
    time.sleep(120)


parts = []
for _ in range(8):
    ready = multiprocessing.Event()
    part = multiprocessing.Process(target=hold, args=(ready,))
    part.start()
    parts.append((part, ready))
for part, ready in parts:  # each part has touched its pages or is gone, however slow the machine
    while part.is_alive() and not ready.wait(0.1):
        pass
print("balloon parts still alive:", sum(part.is_alive() for part, _ in parts))
