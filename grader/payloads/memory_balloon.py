import multiprocessing
import time


def hold() -> None:
    """One part of a balloon spread over many processes (each under any per-process limit)."""
    block = bytearray(400 * 2**20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page
    time.sleep(120)


parts = [multiprocessing.Process(target=hold) for _ in range(8)]
for part in parts:
    part.start()
time.sleep(5)
print("balloon parts still alive:", sum(p.is_alive() for p in parts))
