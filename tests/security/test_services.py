"""The product fixes the corpus led to, tested on the services directly (no HTTP)."""

from __future__ import annotations

import io

import pytest

from questionnaire import evidence as ev
from reviews.models_observations import ObservationComment, SummaryComment
from reviews.services import ReviewError
from reviews.services_observations import observation_comment, summary_comment

from .corpus import pdf, pdf_prefix_then_html

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("We agree\x00", "Null characters are not allowed."),
        ("\u202e\u200b\u2066 \u200f", "Write a comment first."),
    ],
    ids=["nul", "invisible-only"],
)
def test_observation_and_summary_comments_refuse_nul_and_invisible_only_text(summary_a, observation_a, focal_point_a, body, message):
    with pytest.raises(ReviewError, match=message):
        observation_comment(observation=observation_a, body=body, by=focal_point_a)
    with pytest.raises(ReviewError, match=message):
        summary_comment(summary=summary_a, body=body, by=focal_point_a)
    assert not ObservationComment.objects.exists() and not SummaryComment.objects.exists()


def test_text_around_a_right_to_left_mark_is_kept(summary_a, focal_point_a):
    comment = summary_comment(summary=summary_a, body="\u200fمرحبا\u202e", by=focal_point_a)
    assert comment.body == "\u200fمرحبا\u202e"


def test_a_pdf_header_in_front_of_a_web_page_is_refused():
    with pytest.raises(ev.EvidenceRefused, match="a web page \\(HTML\\) behind a PDF header"):
        ev.detect_file_type(io.BytesIO(pdf_prefix_then_html()), len(pdf_prefix_then_html()))
    assert ev.detect_file_type(io.BytesIO(pdf()), len(pdf())) == ev.FileType.PDF
