"""The Working Group recommendations registry (loader, per-process copy, counts)
and expertise offers with their matching (reviews/services_registry.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from parties.models import Membership, State
from questionnaire import recommendations as recs
from questionnaire.models import Question, Recommendation
from questionnaire.services import answers_save, response_get_or_create, response_submit
from reviews import services_registry as registry
from reviews.models import ExpertiseOffer
from tests.factories import MembershipFactory, fill_required

pytestmark = pytest.mark.django_db

Role = Membership.Role
Group = State.RegionalGroup

GOOD = """\
edition: "t"
series:
  s1:
    title: {en: "Series one", fr: "Série un"}
    source: "Doc 1"
recommendations:
  - series: s1
    number: 1
    section: {en: "A. Section"}
    text: {en: "About records.", fr: "Sur les registres."}
    articles: [7, 5]
  - series: s1
    number: 2
    text: {en: "About training."}
    articles: [14]
"""


@pytest.fixture(autouse=True)
def _fresh_registry():
    recs.registry_changed()
    yield
    recs.registry_changed()


def write(tmp_path, text: str):
    path = tmp_path / "recommendations.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- The loader --------------------------------------------------------------------


def test_it_loads_the_real_file_with_every_recommendation_linked_to_articles():
    result = recs.recommendations_load()

    assert len(result.created) == 24 + 11
    wg = Recommendation.objects.filter(series="wg2018")
    assert sorted(wg.values_list("number", flat=True)) == list(range(1, 25))
    assert Recommendation.objects.filter(series="topics2021").count() == 11
    assert all(r.articles and r.text and r.source for r in Recommendation.objects.all())
    assert Recommendation.objects.get(code="topics2021-4").articles == [15]  # brokers
    assert "microchips" in Recommendation.objects.get(code="wg2018-6").text


def test_it_loads_the_same_file_twice_without_changing_anything(tmp_path, django_capture_on_commit_callbacks):
    path = write(tmp_path, GOOD)
    recs.recommendations_load(path=path)
    before = list(Recommendation.objects.values())

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = recs.recommendations_load(path=path)

    assert again.created == again.updated == again.removed == []
    assert len(again.unchanged) == 2
    assert list(Recommendation.objects.values()) == before
    assert callbacks == []  # nothing changed: the processes keep their copy


def test_it_updates_and_removes_by_code(tmp_path):
    recs.recommendations_load(path=write(tmp_path, GOOD))
    changed = GOOD.replace("About records.", "About record-keeping.").split("  - series: s1\n    number: 2")[0]

    result = recs.recommendations_load(path=write(tmp_path, changed))

    assert result.updated == ["s1-1"] and result.removed == ["s1-2"]
    assert list(Recommendation.objects.values_list("code", "text")) == [("s1-1", "About record-keeping.")]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (GOOD.replace("articles: [14]", "articles: [14, 40]"), 15, "'40' is not an article"),
        (GOOD.replace("articles: [14]", "articles: []"), 15, "non-empty list of article numbers"),
        (GOOD.replace("    number: 2", "    number: 1"), 12, "appears twice (first at line 7)"),
        (GOOD.replace("text: {en: \"About training.\"}", "text: {fr: \"Formation.\"}"), 14, "needs an English text"),
        (GOOD.replace("  - series: s1\n    number: 2", "  - series: s9\n    number: 2"), 12, "unknown series 's9'"),
        (GOOD.replace("    number: 2", "    number: two"), 13, "positive whole number"),
        (GOOD.replace("    articles: [14]", "    articles: [14]\n    colour: red"), 16, "unknown key 'colour'"),
        (GOOD.replace("source: \"Doc 1\"", "source: [\"Doc 1\""), 6, "not valid YAML"),
    ],
)
def test_it_refuses_a_bad_file_with_the_line_and_loads_nothing(tmp_path, text, line, reason):
    recs.recommendations_load(path=write(tmp_path, GOOD))
    before = list(Recommendation.objects.values())

    with pytest.raises(recs.RecommendationsError) as caught:
        recs.recommendations_load(path=write(tmp_path, text))

    assert any(n == line and reason in why for n, why in caught.value.errors), caught.value.errors
    assert f"recommendations.yaml:{line}:" in str(caught.value)
    assert list(Recommendation.objects.values()) == before


def test_the_command_checks_loads_and_refuses_with_file_and_line(tmp_path, capsys):
    call_command("load_recommendations", str(write(tmp_path, GOOD)), "--check")
    assert not Recommendation.objects.exists()

    call_command("load_recommendations", str(write(tmp_path, GOOD)))
    assert Recommendation.objects.count() == 2

    with pytest.raises(CommandError, match=r"recommendations.yaml:15: .*'99' is not an article"):
        call_command("load_recommendations", str(write(tmp_path, GOOD.replace("[14]", "[99]"))))
    assert Recommendation.objects.get(code="s1-2").articles == [14]


def test_it_shows_another_language_and_falls_back_to_english(tmp_path):
    from django.utils import translation

    recs.recommendations_load(path=write(tmp_path, GOOD))
    one, two = recs.all_recommendations()
    with translation.override("fr"):
        assert (one.text_localized, one.series_title_localized) == ("Sur les registres.", "Série un")
        assert two.text_localized == "About training."
    with translation.override("ar"):
        assert one.text_localized == "About records."


def test_the_process_copy_costs_one_query_and_is_dropped_by_a_load(tmp_path, django_assert_num_queries,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        recs.recommendations_load(path=write(tmp_path, GOOD))
    with django_assert_num_queries(1):
        assert [r.code for r in recs.recommendations_for_article(5)] == ["s1-1"]
    with django_assert_num_queries(0):
        assert [r.code for r in recs.recommendations_for_article(14)] == ["s1-2"]
        assert recs.recommendations_for_article(8) == []

    with django_capture_on_commit_callbacks(execute=True):
        recs.recommendations_load(path=write(tmp_path, GOOD.replace("[14]", "[8]")))

    assert [r.code for r in recs.recommendations_for_article(8)] == ["s1-2"]


# --- Counted in reports ---------------------------------------------------------------


def _status(response, code):
    return Question.objects.get(version=response.version, code=code)


def test_it_counts_per_recommendation_the_states_answering_no_or_partially(
    tmp_path, version, state_a, state_b, focal_point_a, focal_point_b
):
    recs.recommendations_load(path=write(tmp_path, GOOD))  # s1-1 on articles 5 and 7, s1-2 on 14
    a = response_get_or_create(state=state_a, version=version, due_date=None)
    b = response_get_or_create(state=state_b, version=version, due_date=None)
    fill_required(a, focal_point_a, {"FP-5.1.a.status": "no", "FP-5.2.status": "partially"})
    fill_required(b, focal_point_b, {"FP-5.1.a.status": "partially"})
    response_submit(response=a, by=focal_point_a)

    counts = registry.recommendation_counts(recs.all_recommendations())
    # B's answers are a draft: not counted. A counted once although two provisions say so.
    assert (counts["s1-1"].states, counts["s1-1"].no, counts["s1-1"].partially) == (1, 1, 0)
    assert counts["s1-2"].states == 0

    response_submit(response=b, by=focal_point_b)
    counts = registry.recommendation_counts(recs.all_recommendations())
    assert (counts["s1-1"].states, counts["s1-1"].no, counts["s1-1"].partially) == (2, 1, 1)


# --- Expertise offers -------------------------------------------------------------------


def offer(by, state, **kw):
    fields = {"article_number": 5, "category": "record_keeping", "description": "Registry advice.", "contact": "x@example.org"}
    return registry.expertise_offer_create(by=by, state=state, **(fields | kw))


def test_a_focal_point_records_an_offer_of_its_state_only(focal_point_a, state_a, state_b, contributor_a, secretariat):
    made = offer(focal_point_a, state_a)
    assert (made.state, made.programme, made.created_by) == (state_a, "", focal_point_a)

    for by, state in ((focal_point_a, state_b), (contributor_a, state_a), (secretariat, state_a)):
        with pytest.raises(PermissionDenied):
            offer(by, state)
    assert ExpertiseOffer.objects.count() == 1


def test_the_secretariat_records_programme_offers_and_nobody_else(secretariat, focal_point_a):
    made = offer(secretariat, None, programme="Global Firearms Programme")
    assert made.state is None and made.offered_by == "Global Firearms Programme"
    with pytest.raises(PermissionDenied):
        offer(focal_point_a, None, programme="Mine")
    with pytest.raises(ValidationError) as caught:
        offer(secretariat, None, programme="  ")
    assert "programme" in caught.value.message_dict
    assert ExpertiseOffer.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("article_number", 2 * 21), ("category", "cooking"), ("description", " "), ("contact", "")],
)
def test_it_refuses_an_incomplete_offer(focal_point_a, state_a, field, value):
    with pytest.raises(ValidationError) as caught:
        offer(focal_point_a, state_a, **{field: value})
    assert field in caught.value.message_dict
    assert not ExpertiseOffer.objects.exists()


def test_an_offer_is_withdrawn_by_its_state_only(focal_point_a, focal_point_b, state_a):
    made = offer(focal_point_a, state_a)
    with pytest.raises(PermissionDenied):
        registry.expertise_offer_withdraw(offer=made, by=focal_point_b)
    assert ExpertiseOffer.objects.filter(pk=made.pk).exists()
    registry.expertise_offer_withdraw(offer=made, by=focal_point_a)
    assert not ExpertiseOffer.objects.exists()


# --- Matching ----------------------------------------------------------------------------


def need(state, article=5, category="record_keeping", priority="high"):
    return registry.Need(state_id=state.pk, state_name=state.name, regional_group=state.regional_group,
                         article_number=article, category=category, priority=priority, text="")


def _fp(state):
    return MembershipFactory(role=Role.FOCAL_POINT, state=state).user


def test_it_pairs_same_category_and_article_same_group_first_and_marks_south_south(parties, secretariat):
    arcadia, borduria = parties[0], parties[1]  # both African
    by_name = {s.name: s for s in parties}
    illyria, krakozhia, genovia = by_name["Illyria"], by_name["Krakozhia"], by_name["Genovia"]
    offers = {
        "own": offer(_fp(arcadia), arcadia),
        "same_group": offer(_fp(borduria), borduria),
        "latin": offer(_fp(illyria), illyria),
        "western": offer(_fp(krakozhia), krakozhia),
        "programme": offer(secretariat, None, programme="Programme"),
        "other_article": offer(_fp(genovia), genovia, article_number=7),
        "other_category": offer(_fp(genovia), genovia, category="destruction"),
    }

    [result] = registry.expertise_matching(needs=[need(arcadia)])

    got = [(m.offer.pk, m.same_group, m.south_south) for m in result.matches]
    assert got[0] == (offers["same_group"].pk, True, True)
    assert got[1] == (offers["latin"].pk, False, True)
    assert {g[0] for g in got[2:]} == {offers["western"].pk, offers["programme"].pk}
    assert all(not south for _pk, _same, south in got[2:])
    assert offers["own"].pk not in {g[0] for g in got}  # never a State's own offer


def test_the_south_is_the_african_asia_pacific_and_latin_american_groups():
    assert registry.SOUTH_GROUPS == {Group.AFRICAN, Group.ASIA_PACIFIC, Group.LATIN_AMERICAN_CARIBBEAN}
    assert not registry.is_south(Group.WESTERN_EUROPEAN_OTHERS) and not registry.is_south(Group.EASTERN_EUROPEAN)


def test_it_reads_needs_from_the_ta_answers_of_submitted_responses_only(version, state_a, state_b, focal_point_a, focal_point_b):
    ta = Question.objects.get(version=version, code="FP-5.1.a.ta")
    a = response_get_or_create(state=state_a, version=version, due_date=None)
    b = response_get_or_create(state=state_b, version=version, due_date=None)
    value = {"needed": True, "categories": ["record_keeping", "training_customs"], "priority": "medium", "details": "A registry."}
    for response, by in ((a, focal_point_a), (b, focal_point_b)):
        answers_save(response=response, by=by, values={ta: value}, base_revisions={})
        fill_required(response, by)
    response_submit(response=a, by=focal_point_a)

    needs = registry.needs_from_answers()

    assert sorted((n.state_id, n.article_number, n.category, n.priority) for n in needs) == [
        (state_a.pk, 5, "record_keeping", "medium"), (state_a.pk, 5, "training_customs", "medium"),
    ]
    assert needs[0].text == "A registry."


def test_matching_costs_the_same_queries_whatever_the_number_of_offers(parties, secretariat, django_assert_num_queries):
    for state in parties[1:]:
        offer(_fp(state), state)
    with django_assert_num_queries(2):  # the needs, the offers with their States
        registry.expertise_matching()


def test_a_process_reads_the_registry_again_after_max_age(tmp_path, monkeypatch, django_assert_num_queries):
    """A load in another process whose cache is not shared is seen within MAX_AGE_SECONDS."""
    recs.recommendations_load(path=write(tmp_path, GOOD))
    recs.all_recommendations()
    Recommendation.objects.filter(code="s1-2").update(articles=[8])  # as another process would, unseen
    assert recs.recommendations_for_article(8) == []

    clock = recs.time.monotonic() + recs.MAX_AGE_SECONDS + 1
    monkeypatch.setattr(recs.time, "monotonic", lambda: clock)
    with django_assert_num_queries(1):
        assert [r.code for r in recs.recommendations_for_article(8)] == ["s1-2"]


def test_matching_reads_the_open_ta_needs_recorded_as_rows(version, state_a, state_b, focal_point_a, focal_point_b,
                                                            secretariat):
    from reviews.models import TechnicalAssistanceNeed
    from reviews.services_ta import ta_need_move, ta_needs_refresh

    assert registry.NEEDS_SOURCE is registry.needs_from_model
    ta = Question.objects.get(version=version, code="FP-5.1.a.ta")
    a = response_get_or_create(state=state_a, version=version, due_date=None)
    answers_save(response=a, by=focal_point_a, base_revisions={},
                 values={ta: {"needed": True, "categories": ["record_keeping"], "priority": "low", "details": "Registry."}})
    fill_required(a, focal_point_a)
    response_submit(response=a, by=focal_point_a)
    ta_needs_refresh(state=state_a)
    made = offer(focal_point_b, state_b)

    [item] = registry.expertise_matching()
    assert (item.need.state_id, item.need.article_number, item.need.category) == (state_a.pk, 5, "record_keeping")
    assert [m.offer for m in item.matches] == [made] and item.matches[0].same_group and item.matches[0].south_south

    ta_need_move(need=TechnicalAssistanceNeed.objects.get(state=state_a), to="withdrawn", by=focal_point_a)
    assert registry.expertise_matching() == []  # a withdrawn need is no longer matched


def test_a_need_asked_on_several_provisions_of_an_article_is_matched_once(version, state_a, focal_point_a):
    from reviews.services_ta import ta_needs_refresh

    a = response_get_or_create(state=state_a, version=version, due_date=None)
    tas = list(Question.objects.filter(version=version, article__number=5, kind="technical_assistance"))
    assert len(tas) >= 2
    answers_save(response=a, by=focal_point_a, base_revisions={}, values={
        tas[0]: {"needed": True, "categories": ["destruction"], "priority": "low", "details": "One."},
        tas[1]: {"needed": True, "categories": ["destruction"], "priority": "high", "details": "Two."},
    })
    fill_required(a, focal_point_a)
    response_submit(response=a, by=focal_point_a)
    ta_needs_refresh(state=state_a)

    for needs in (registry.needs_from_model(), registry.needs_from_answers()):
        [need] = needs
        assert (need.priority, need.text) == ("high", "One.\nTwo.")


def test_a_load_in_another_process_is_seen_within_the_generation_check(tmp_path, monkeypatch, django_assert_num_queries):
    """The shared generation is compared at most every GENERATION_CHECK_SECONDS: until
    then this process's copy serves without a cache round trip or a query."""
    from django.core.cache import cache

    recs.recommendations_load(path=write(tmp_path, GOOD))
    recs.registry_changed()  # what the load's commit does (the test's transaction never commits)
    recs.all_recommendations()
    Recommendation.objects.filter(code="s1-2").update(articles=[8])
    cache.set(recs.GENERATION_KEY, "loaded-elsewhere", timeout=None)  # another process's load
    start = recs.time.monotonic()

    monkeypatch.setattr(recs.time, "monotonic", lambda: start + recs.GENERATION_CHECK_SECONDS / 2)
    with django_assert_num_queries(0):
        assert recs.recommendations_for_article(8) == []

    monkeypatch.setattr(recs.time, "monotonic", lambda: start + recs.GENERATION_CHECK_SECONDS + 0.1)
    with django_assert_num_queries(1):
        assert [r.code for r in recs.recommendations_for_article(8)] == ["s1-2"]
    with django_assert_num_queries(0):  # and the new copy serves again
        assert [r.code for r in recs.recommendations_for_article(8)] == ["s1-2"]
