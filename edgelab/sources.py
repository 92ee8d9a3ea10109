"""Where the figures of a link, radio or device profile come from.

Every number in ``data/links.json`` and ``data/devices.json`` has a source: a citation (URL and
date), a definition, or an *assumption* that says why no published figure was used. Lessons show
the assumptions behind the numbers they grade, so a learner knows which figures are not measured.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

ASSUMPTION = "assumption:"


def assumptions(profile: Any) -> Dict[str, str]:
    """The fields of ``profile`` (a :class:`~edgelab.network.Link`, ``Radio`` or
    :class:`~edgelab.devices.Device`) that rest on an assumption, each with its reason."""
    found = getattr(profile, "sources", None)
    if found is None:
        raise ValueError("profile must be a link, radio or device profile with sources; "
                         f"got {type(profile).__name__}")
    return {field: text[len(ASSUMPTION):].strip() for field, text in found.items()
            if text.startswith(ASSUMPTION)}


def assumption_lines(profiles: Iterable[Any], fields: Optional[Iterable[str]] = None) -> List[str]:
    """One line per assumed figure of ``profiles``: profile, field, value and reason. ``fields``
    limits the lines to those fields (dotted names such as ``"efficiency.int8"``)."""
    wanted = None if fields is None else set(fields)
    lines = []
    for profile in profiles:
        for field, why in assumptions(profile).items():
            if wanted is None or field in wanted:
                lines.append(f"{profile.name} {field} = {_value(profile, field)}: {why}")
    return lines


def _value(profile: Any, field: str) -> Any:
    """The value of a dotted field (``rtt_ms.median`` is the link's ``rtt_median_ms``)."""
    head, _, tail = field.partition(".")
    if head == "rtt_ms":
        return getattr(profile, f"rtt_{tail}_ms")
    value = getattr(profile, head)
    if tail:
        return value[tail]
    return value.name if hasattr(value, "name") else value
