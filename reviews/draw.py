"""The draw of reviewing States, as a pure function (no database).

Rules (domain.md 1.5): for each State under review, two reviewing States that are
parties to the instrument — one from the same UN regional group, one from another
— never itself, no two States reviewing each other in the same cycle, and the
reviews spread as evenly as possible, and no State carrying more than ``cap``
reviews in the cycle. The same seed over the same input gives the same draw: every
random choice goes through one ``random.Random(seed)`` over inputs sorted by code.

A draw that cannot satisfy the rules is never bent: ``DrawImpossible`` says why
and carries ``nearest``, the draw of the largest set of the requested States that
can be drawn (the others are postponed), for the secretariat to accept or not.
``redraw_one`` replaces one reviewer under the same rules.
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


@dataclass(frozen=True)
class Nearest:
    """The nearest valid draw: the States that can be drawn now, and those postponed."""

    result: dict[int, Pair]
    postponed: tuple[Candidate, ...]


class DrawImpossible(Exception):
    def __init__(self, reasons: list[str], nearest: Nearest | None = None):
        self.reasons = reasons
        self.nearest = nearest
        super().__init__("; ".join(reasons))


def _problems(
    under_review: list[Candidate], reviewers: list[Candidate], cap: int | None
) -> list[tuple[str, Candidate]]:
    """(reason, the State under review to postpone for it), in a stable order."""
    problems = []
    for s in under_review:
        same = [r for r in reviewers if r.group == s.group and r.id != s.id]
        other = [r for r in reviewers if r.group != s.group]
        if not same:
            problems.append((f"{s.code}: no other party to the instrument in its regional group ({s.group or 'none'})", s))
        if not other:
            problems.append((f"{s.code}: no party to the instrument outside its regional group", s))
    by_group: dict[str, list[Candidate]] = {}
    for r in reviewers:
        by_group.setdefault(r.group, []).append(r)
    reviewed = {s.id: s for s in under_review}
    for group, members in sorted(by_group.items()):
        if len(members) == 2 and all(m.id in reviewed for m in members):
            a, b = sorted(members, key=lambda m: m.code)
            problems.append(
                (
                    f"{a.code} and {b.code}: the only two parties of their regional group ({group}) "
                    "would have to review each other",
                    b,
                )
            )
    if cap is not None and not problems and 2 * len(under_review) > cap * len(reviewers):
        fits = cap * len(reviewers) // 2
        for s in under_review[fits:]:
            problems.append(
                (f"{s.code}: {len(reviewers)} parties can carry {cap * len(reviewers)} reviews at most "
                 f"({cap} each), fewer than {2 * len(under_review)}", s)
            )
    return problems


def _feasibility(under_review: list[Candidate], reviewers: list[Candidate], cap: int | None = None) -> list[str]:
    return [reason for reason, _state in _problems(under_review, reviewers, cap)]


def draw(
    under_review: list[Candidate], reviewers: list[Candidate], seed: str, cap: int | None = None
) -> dict[int, Pair]:
    """Return, for each State under review (by id), its two reviewing States; no
    reviewing State carries more than ``cap`` reviews (None: no cap)."""
    try:
        return _draw(under_review, reviewers, seed, cap)
    except DrawImpossible as exc:
        raise DrawImpossible(exc.reasons, _nearest(under_review, reviewers, seed, cap)) from None


def _nearest(under_review: list[Candidate], reviewers: list[Candidate], seed: str, cap: int | None) -> Nearest | None:
    """Postpone, one at a time, a State that a rule names (or the last one by code
    when only the random attempts failed) until the rest can be drawn."""
    remaining = sorted(under_review, key=lambda c: c.code)
    postponed: list[Candidate] = []
    while remaining:
        problems = _problems(remaining, sorted(reviewers, key=lambda c: c.code), cap)
        if problems:
            culprit = problems[0][1]
        else:
            try:
                return Nearest(_draw(remaining, reviewers, seed, cap), tuple(postponed))
            except DrawImpossible:
                culprit = remaining[-1]
        remaining = [s for s in remaining if s.id != culprit.id]
        postponed.append(culprit)
    return None


def _draw(under_review: list[Candidate], reviewers: list[Candidate], seed: str, cap: int | None) -> dict[int, Pair]:
    under_review = sorted(under_review, key=lambda c: c.code)
    reviewers = sorted(reviewers, key=lambda c: c.code)
    reasons = _feasibility(under_review, reviewers, cap)
    if reasons:
        raise DrawImpossible(reasons)
    rng = random.Random(f"{ALGORITHM}:{seed}")
    # Greedy attempts from different random orders; keep the most even one. A
    # spread of one review between the busiest and the idlest State is the best
    # possible unless the reviews divide exactly, so stop there.
    best, best_spread = None, None
    for _attempt in range(ATTEMPTS):
        result = _attempt_draw(under_review, reviewers, rng, cap)
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
        [f"no draw satisfies every rule after {ATTEMPTS} attempts (too few parties to avoid mutual reviews"
         + (f" within {cap} reviews each" if cap is not None else "") + "?)"]
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


def _attempt_draw(
    under_review: list[Candidate], reviewers: list[Candidate], rng: random.Random, cap: int | None = None
) -> dict[int, Pair] | None:
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
            and (cap is None or load[r.id] < cap)
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


def redraw_one(
    *,
    subject: Candidate,
    same_group: bool,
    reviewers: list[Candidate],
    exclude: set[int],
    load: dict[int, int],
    cap: int | None,
    seed: str,
) -> Candidate:
    """Draw one reviewing State for ``subject``'s slot (same regional group or
    another) among ``reviewers``, never one in ``exclude`` (the State itself, its
    other reviewer, the one replaced, those it reviews), never one at ``cap``; the
    least loaded first, ties broken by the seed."""
    eligible = [
        r
        for r in sorted(reviewers, key=lambda c: c.code)
        if r.id != subject.id
        and r.id not in exclude
        and (r.group == subject.group) == same_group
        and (cap is None or load.get(r.id, 0) < cap)
    ]
    if not eligible:
        where = "in its regional group" if same_group else "outside its regional group"
        raise DrawImpossible([f"{subject.code}: no other eligible party {where} (rules, or the cap of {cap} reviews)"])
    lowest = min(load.get(r.id, 0) for r in eligible)
    best = [r for r in eligible if load.get(r.id, 0) == lowest]
    return random.Random(f"{ALGORITHM}:redraw:{seed}").choice(best)
