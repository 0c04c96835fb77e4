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


# --- The cap, the nearest valid draw, and redrawing one reviewer ---------------------------------

from reviews.draw import redraw_one  # noqa: E402


@pytest.mark.parametrize("cap", [2, 3])
def test_it_never_gives_a_state_more_reviews_than_the_cap(cap):
    parties = world([6, 6, 6, 6, 6])

    result = draw(parties[: 15 * cap // 2 * 2 // 2], parties, seed="cap", cap=cap)

    assert max(loads(result, parties).values()) <= cap


def test_it_refuses_more_reviews_than_the_cap_allows_and_offers_the_nearest_draw():
    parties = world([3, 3, 3, 3, 3])  # 15 parties, one review each: 7 States at most

    with pytest.raises(DrawImpossible) as caught:
        draw(parties, parties, seed="fixed", cap=1)

    assert "1 each" in caught.value.reasons[0]
    nearest = caught.value.nearest
    assert nearest is not None and len(nearest.result) + len(nearest.postponed) == len(parties)
    drawn = [p for p in parties if p.id in nearest.result]
    check_rules(nearest.result, drawn, parties)
    assert max(loads(nearest.result, parties).values()) <= 1


def test_it_postpones_the_state_a_rule_names_in_the_nearest_draw():
    parties = world([3, 3, 1, 3, 3])
    alone = next(p for p in parties if p.group == "eastern_european")

    with pytest.raises(DrawImpossible) as caught:
        draw(parties, parties, seed="fixed")

    assert caught.value.nearest.postponed == (alone,)
    check_rules(caught.value.nearest.result, [p for p in parties if p != alone], parties)


def test_it_offers_no_nearest_draw_when_nothing_can_be_drawn():
    parties = world([4, 0, 0, 0, 0])

    with pytest.raises(DrawImpossible) as caught:
        draw(parties[:1], parties, seed="fixed")

    assert caught.value.nearest is None


def test_it_redraws_one_reviewer_among_the_least_loaded_eligible_states_reproducibly():
    parties = world([5, 3, 0, 0, 0])
    subject = parties[0]
    load = {parties[1].id: 2, parties[2].id: 0, parties[3].id: 0, parties[4].id: 1}

    picks = {redraw_one(subject=subject, same_group=True, reviewers=parties, exclude={parties[3].id}, load=load,
                        cap=3, seed="s").id for _ in range(3)}

    assert picks == {parties[2].id}  # the only same-group State with no review that is not excluded
    shuffled = list(reversed(parties))
    assert redraw_one(subject=subject, same_group=False, reviewers=parties, exclude=set(), load={}, cap=3, seed="x") == \
        redraw_one(subject=subject, same_group=False, reviewers=shuffled, exclude=set(), load={}, cap=3, seed="x")


def test_it_refuses_a_redraw_when_every_candidate_is_at_the_cap():
    parties = world([3, 1, 0, 0, 0])
    load = {p.id: 2 for p in parties}

    with pytest.raises(DrawImpossible, match="cap of 2"):
        redraw_one(subject=parties[0], same_group=True, reviewers=parties, exclude=set(), load=load, cap=2, seed="s")
