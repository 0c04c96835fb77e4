"""The draw of reviewing States, as a pure function (no database).

Rules (domain.md 1.5): for each State under review, two reviewing States that are
parties to the instrument — one from the same UN regional group, one from another
— never itself, no two States reviewing each other in the same cycle, and the
reviews spread as evenly as possible. The same seed over the same input gives the
same draw: every random choice goes through one ``random.Random(seed)`` over
inputs sorted by code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ALGORITHM = "balanced-v1"
ATTEMPTS = 200


@dataclass(frozen=True)
class Candidate:
    id: int
    code: str
    group: str


@dataclass(frozen=True)
class Pair:
    same_group: int
    other_group: int


class DrawImpossible(Exception):
    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


def _feasibility(under_review: list[Candidate], reviewers: list[Candidate]) -> list[str]:
    reasons = []
    for s in under_review:
        same = [r for r in reviewers if r.group == s.group and r.id != s.id]
        other = [r for r in reviewers if r.group != s.group]
        if not same:
            reasons.append(f"{s.code}: no other party to the instrument in its regional group ({s.group or 'none'})")
        if not other:
            reasons.append(f"{s.code}: no party to the instrument outside its regional group")
    return reasons


def draw(under_review: list[Candidate], reviewers: list[Candidate], seed: str) -> dict[int, Pair]:
    """Return, for each State under review (by id), its two reviewing States."""
    under_review = sorted(under_review, key=lambda c: c.code)
    reviewers = sorted(reviewers, key=lambda c: c.code)
    reasons = _feasibility(under_review, reviewers)
    if reasons:
        raise DrawImpossible(reasons)
    rng = random.Random(f"{ALGORITHM}:{seed}")
    # Loads can be at most this even: 2 reviews per State under review, shared out.
    for _attempt in range(ATTEMPTS):
        result = _attempt_draw(under_review, reviewers, rng)
        if result is not None:
            return result
    raise DrawImpossible(
        [f"no draw satisfies every rule after {ATTEMPTS} attempts (too few parties to avoid mutual reviews?)"]
    )


def _attempt_draw(under_review: list[Candidate], reviewers: list[Candidate], rng: random.Random) -> dict[int, Pair] | None:
    load = {r.id: 0 for r in reviewers}
    reviews_of: dict[int, set[int]] = {s.id: set() for s in under_review}  # who reviews s
    order = under_review[:]
    rng.shuffle(order)
    # States with the fewest possible same-group reviewers go first: they are the
    # hardest to place once loads grow.
    order.sort(key=lambda s: sum(1 for r in reviewers if r.group == s.group and r.id != s.id))
    result: dict[int, Pair] = {}

    def pick(s: Candidate, pool: list[Candidate], taken: set[int]) -> Candidate | None:
        eligible = [
            r
            for r in pool
            if r.id != s.id
            and r.id not in taken
            # no mutual reviews: s must not already review r
            and s.id not in reviews_of.get(r.id, set())
        ]
        if not eligible:
            return None
        lowest = min(load[r.id] for r in eligible)
        best = [r for r in eligible if load[r.id] == lowest]
        return rng.choice(best)

    for s in order:
        same = pick(s, [r for r in reviewers if r.group == s.group], set())
        if same is None:
            return None
        other = pick(s, [r for r in reviewers if r.group != s.group], {same.id})
        if other is None:
            return None
        for r in (same, other):
            load[r.id] += 1
            reviews_of[s.id].add(r.id)
        result[s.id] = Pair(same_group=same.id, other_group=other.id)
    return result
