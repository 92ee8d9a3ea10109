# The library rounds the arena up instead of the arithmetic by hand.
import math


def with_headroom(minimal_bytes, headroom, alignment=16):
    return micro.arena_with_headroom(minimal_bytes, headroom, alignment)


ARENA_BYTES = arena.recommended(0.25)
