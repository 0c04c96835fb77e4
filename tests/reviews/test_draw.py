"""The draw of reviewing States (reviews/draw.py): a pure function, no database."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from reviews.draw import Candidate, DrawImpossible, Pair, draw

GROUPS = ["african", "asia_pacific", "eastern_european", "latin_american_caribbean", "western_european_others"]


def world(sizes: list[int]) -> list[Candidate]:
    """Parties over the five groups, ``sizes[i]`` of them in GROUPS[i]."""
    parties, n = [], 0
    for group, size in zip(GROUPS, sizes):
        for _ in range(size):
            n += 1
            parties.append(Candidate(id=n, code=f"S{n:03d}", group=group))
    return parties


def check_rules(result: dict[int, Pair], under_review: list[Candidate], parties: list[Candidate]) -> None:
    """Every rule of domain.md 1.5 that a draw must satisfy."""
    by_id = {p.id: p for p in parties}
    assert set(result) == {s.id for s in under_review}
    reviewed_by = {(s, r) for s, pair in result.items() for r in (pair.same_group, pair.other_group)}
    for s in under_review:
        pair = result[s.id]
        assert pair.same_group in by_id and pair.other_group in by_id, "a reviewer is not a party"
        assert s.id not in (pair.same_group, pair.other_group), f"{s.code} reviews itself"
        assert pair.same_group != pair.other_group
        assert by_id[pair.same_group].group == s.group, f"{s.code}: same-group reviewer from another group"
        assert by_id[pair.other_group].group != s.group, f"{s.code}: other-group reviewer from its own group"
    mutual = {(s, r) for s, r in reviewed_by if (r, s) in reviewed_by}
    assert not mutual, f"mutual reviews: {mutual}"


def loads(result: dict[int, Pair], parties: list[Candidate]) -> dict[int, int]:
    count = Counter(r for pair in result.values() for r in (pair.same_group, pair.other_group))
    return {p.id: count[p.id] for p in parties}


def test_it_gives_each_state_one_same_group_and_one_other_group_reviewer():
    # Everybody reviewed: the three States of a group must review each other in a ring.
    parties = world([3, 3, 3, 4, 5])

    result = draw(parties, parties, seed="fixed")

    check_rules(result, parties, parties)


def test_it_draws_reviewers_only_among_parties():
    parties = world([4, 4, 4, 4, 4])
    # Three of them are reviewed, but only the other parties may be drawn.
    not_parties = {2, 6, 10}
    reviewers = [p for p in parties if p.id not in not_parties]

    for seed in range(20):
        result = draw(parties[:5], reviewers, seed=str(seed))
        drawn = {r for pair in result.values() for r in (pair.same_group, pair.other_group)}
        assert not drawn & not_parties


def test_it_draws_the_same_result_for_the_same_seed_whatever_the_input_order():
    parties = world([10, 8, 6, 6, 5])
    under_review = parties[::3]
    shuffled_parties, shuffled_review = parties[:], under_review[:]
    random.Random(1).shuffle(shuffled_parties)
    random.Random(2).shuffle(shuffled_review)

    first = draw(under_review, parties, seed="2026-cluster-I")
    again = draw(shuffled_review, shuffled_parties, seed="2026-cluster-I")

    assert first == again


def test_it_draws_differently_with_different_seeds():
    parties = world([10, 8, 6, 6, 5])
    under_review = parties[::3]

    results = {tuple(sorted(draw(under_review, parties, seed=f"seed-{n}").items())) for n in range(10)}

    assert len(results) >= 9


def test_it_spreads_reviews_evenly_over_a_realistic_set_of_parties():
    # 120 parties spread unevenly over the groups, 40 reviewed in the cycle.
    parties = world([35, 25, 20, 22, 18])
    for seed in range(10):
        under_review = random.Random(seed).sample(parties, 40)

        result = draw(under_review, parties, seed=str(seed))

        check_rules(result, under_review, parties)
        load = loads(result, parties)
        assert max(load.values()) - min(load.values()) <= 1, f"seed {seed}: {Counter(load.values())}"


def test_it_refuses_when_a_state_is_the_only_party_in_its_group():
    parties = world([3, 3, 1, 2, 2])
    alone = next(p for p in parties if p.group == "eastern_european")

    with pytest.raises(DrawImpossible) as caught:
        draw(parties, parties, seed="fixed")

    assert caught.value.reasons[0] == f"{alone.code}: no other party to the instrument in its regional group (eastern_european)"
    assert alone.code in str(caught.value)


def test_it_names_two_lone_parties_of_a_group_that_would_review_each_other():
    parties = world([3, 3, 3, 2, 3])
    pair = sorted(p.code for p in parties if p.group == "latin_american_caribbean")

    with pytest.raises(DrawImpossible) as caught:
        draw(parties, parties, seed="fixed")

    assert caught.value.reasons == [
        f"{pair[0]} and {pair[1]}: the only two parties of their regional group (latin_american_caribbean) would have to review each other"
    ]


def test_it_spreads_reviews_evenly_when_every_party_is_under_review():
    parties = world([24, 24, 24, 24, 24])

    for seed in ("a", "b", "c"):
        result = draw(parties, parties, seed=seed)
        load = {p.id: 0 for p in parties}
        for pair in result.values():
            load[pair.same_group] += 1
            load[pair.other_group] += 1
        assert set(load.values()) == {2}, seed


def test_it_refuses_when_no_party_is_outside_the_group():
    parties = world([4, 0, 0, 0, 0])

    with pytest.raises(DrawImpossible) as caught:
        draw(parties[:1], parties, seed="fixed")

    assert caught.value.reasons == ["S001: no party to the instrument outside its regional group"]


def test_it_refuses_rather_than_pair_two_states_reviewing_each_other():
    # Two States per group, all reviewed: each one's only same-group reviewer is the
    # State it must review, so every draw would be mutual.
    parties = world([2, 2, 0, 0, 0])

    with pytest.raises(DrawImpossible):
        draw(parties, parties, seed="fixed")


@pytest.mark.parametrize("seed", range(50))
def test_it_satisfies_every_rule_whatever_the_seed(seed):
    rng = random.Random(seed)
    parties = world([rng.randint(3, 9) for _ in GROUPS])
    under_review = rng.sample(parties, rng.randint(1, len(parties) // 2))

    result = draw(under_review, parties, seed=f"property-{seed}")

    check_rules(result, under_review, parties)
    load = loads(result, parties)
    # Nobody carries more than its fair share plus one.
    assert max(load.values()) <= -(-2 * len(under_review) // len(parties)) + 1
