"""Contested mentions: a record that matches two people who cannot be one as well as it matches either.

Clustering (linkage/clusters.py) takes links strongest first and skips a link that would join two
mentions held apart by a cannot-link pair (linkage/cannot_link.py), or two persons holding two
different ids of an agency whose ids are trusted within it. The record at the end of such
a skipped link was tied into its cluster by a link that may be barely stronger: a police record
"Steven Grant" with no birth date at the home of a father and son both called Steven Grant
matches each of them equally, and the stronger link wins by chance. Such a record is
*contested*: when the skipped link is within ``CONTESTED_BITS`` of match weight (log2 odds) of
the link that tied it in, it belongs to neither side; clustering leaves it out of every link (a
person of its own) and its links go to the review queue (linkage/review.py), where a person
settles it. A mention a 'same' decision confirmed is never contested; nor, for a link skipped for
two agency ids, a mention carrying a trusted id of its own (the agency says whose it is).

The agency-id case came from bench/lookalike_chains.py (hard seed 63, 2026-12-07): the father's
social-care record with no birth date, at the home he shares with his son of the same name,
scored 0.99997933 against the son's health record and exactly that against his own; the son's
won on the mention ids' order, and the link to the father's person was skipped for two NHS ids.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

CONTESTED_BITS = 5.0   # 32 times the odds: the skipped link is "nearly as strong" as the tying one


def match_weight(p: float) -> float:
    """log2 of the odds of a probability (clamped away from 0 and 1)."""
    p = min(max(float(p), 1e-12), 1.0 - 1e-12)
    return math.log2(p / (1.0 - p))


def contested_mentions(skipped: Iterable[tuple[str, str, float]], tied_by: Mapping[str, float | None],
                       confirmed: Mapping[str, bool], settled: Iterable[str] = ()) -> set[str]:
    """The ends of the ``skipped`` links (a, b, probability) whose tying link (``tied_by``: the
    probability of the link that first tied each mention into its cluster; None for a mention on
    its own) is at most CONTESTED_BITS stronger than the skipped one; never one in ``settled``."""
    out = set()
    settled = set(settled)
    for a, b, p in skipped:
        for x in (a, b):
            own = tied_by.get(x)
            if x in settled:
                continue
            if own is not None and not confirmed.get(x) and match_weight(own) - match_weight(p) <= CONTESTED_BITS:
                out.add(x)
    return out
