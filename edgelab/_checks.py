"""Argument checks shared by the latency lab: each raises a ValueError naming the parameter."""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Optional


def number(name: str, value: object, *, minimum: float = 0.0, inclusive: bool = True,
           maximum: Optional[float] = None, max_inclusive: bool = True) -> float:
    """``value`` as a finite float in the accepted range, else a ValueError naming ``name``."""
    low = "≥" if inclusive else ">"
    high = "" if maximum is None else (f" and {'≤' if max_inclusive else '<'} {maximum:g}")
    accepted = f"a finite number {low} {minimum:g}{high}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {accepted}; got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be {accepted}; got {value!r}")
    if result < minimum or (not inclusive and result == minimum):
        raise ValueError(f"{name} must be {accepted}; got {value!r}")
    if maximum is not None and (result > maximum or (not max_inclusive and result == maximum)):
        raise ValueError(f"{name} must be {accepted}; got {value!r}")
    return result


def count(name: str, value: object, *, minimum: int = 0, maximum: Optional[int] = None) -> int:
    """``value`` as an int in ``[minimum, maximum]``, else a ValueError naming ``name``."""
    upper = "" if maximum is None else f" and ≤ {maximum:,}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer ≥ {minimum}{upper}; got {value!r}")
    result = int(value)
    if result < minimum or (maximum is not None and result > maximum):
        raise ValueError(f"{name} must be an integer ≥ {minimum}{upper}; got {value!r}")
    return result


def choice(name: str, value: object, options: Iterable[str]) -> str:
    """``value`` if it is one of ``options``, else a ValueError listing them."""
    options = list(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(repr(o) for o in options)}; got {value!r}")
    return value


def profile_name(kind: str, value: object, known: Iterable[str]) -> str:
    """A known profile name, else a ValueError that lists the names that exist."""
    known = sorted(known)
    if not isinstance(value, str) or value not in known:
        raise ValueError(f"unknown {kind} profile {value!r}; known {kind}s: {', '.join(known)}")
    return value
