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
    by_group: dict[str, list[Candidate]] = {}
    for r in reviewers:
        by_group.setdefault(r.group, []).append(r)
    reviewed = {s.id for s in under_review}
    for group, members in sorted(by_group.items()):
        if len(members) == 2 and all(m.id in reviewed for m in members):
            a, b = sorted(m.code for m in members)
            reasons.append(
                f"{a} and {b}: the only two parties of their regional group ({group}) would have to review each other"
            )
    return reasons


def draw(under_review: list[Candidate], reviewers: list[Candidate], seed: str) -> dict[int, Pair]:
    """Return, for each State under review (by id), its two reviewing States."""
    under_review = sorted(under_review, key=lambda c: c.code)
    reviewers = sorted(reviewers, key=lambda c: c.code)
    reasons = _feasibility(under_review, reviewers)
    if reasons:
        raise DrawImpossible(reasons)
    rng = random.Random(f"{ALGORITHM}:{seed}")
    # Greedy attempts from different random orders; keep the most even one. A
    # spread of one review between the busiest and the idlest State is the best
    # possible unless the reviews divide exactly, so stop there.
    best, best_spread = None, None
    for _attempt in range(ATTEMPTS):
        result = _attempt_draw(under_review, reviewers, rng)
        if result is None:
            continue
        result = _rebalance(result, under_review, reviewers)
        spread = _spread(result, reviewers)
        if best_spread is None or spread < best_spread:
            best, best_spread = result, spread
        if best_spread <= 1 or _attempt >= ATTEMPTS // 4 and best is not None:
            break
    if best is not None:
        return best
    raise DrawImpossible(
        [f"no draw satisfies every rule after {ATTEMPTS} attempts (too few parties to avoid mutual reviews?)"]
    )


def _rebalance(result: dict[int, Pair], under_review: list[Candidate], reviewers: list[Candidate]) -> dict[int, Pair]:
    """Move single reviews from the busiest to the idlest reviewing States while
    every rule still holds. Deterministic: it scans in code order."""
    result = dict(result)
    by_id = {c.id: c for c in [*reviewers, *under_review]}
    for _step in range(4 * len(under_review)):
        load = {r.id: 0 for r in reviewers}
        reviews = set()  # (reviewer, reviewed)
        for sid, pair in result.items():
            for rid in (pair.same_group, pair.other_group):
                load[rid] += 1
                reviews.add((rid, sid))
        busiest = max(load.values())
        idle = sorted((r for r in reviewers if load[r.id] <= busiest - 2), key=lambda r: (load[r.id], r.code))
        moved = False
        for low in idle:
            for sid in sorted(result, key=lambda i: by_id[i].code):
                pair, s_ = result[sid], by_id[sid]
                if low.id == sid or (sid, low.id) in reviews or low.id in (pair.same_group, pair.other_group):
                    continue
                slot = "same_group" if low.group == s_.group else "other_group"
                current = getattr(pair, slot)
                if load[current] != busiest:
                    continue
                result[sid] = Pair(**{**pair.__dict__, slot: low.id})
                moved = True
                break
            if moved:
                break
        if not moved:
            break
    return result


def _spread(result: dict[int, Pair], reviewers: list[Candidate]) -> int:
    load = {r.id: 0 for r in reviewers}
    for pair in result.values():
        load[pair.same_group] += 1
        load[pair.other_group] += 1
    return max(load.values()) - min(load.values())


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
