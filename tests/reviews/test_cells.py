"""Spreadsheet cells: formulas neutralised, Excel's length limit counted as Excel counts it."""

from __future__ import annotations

import pytest

from reviews.exports.cells import EXCEL_CELL_LIMIT, safe_cell, xlsx_cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_that_would_start_a_formula_is_neutralised(text):
    assert safe_cell(text) == "'" + text
    assert xlsx_cell(text) == "'" + text


def test_a_short_text_with_emoji_and_right_to_left_is_kept_whole():
    text = "جواب 🙂 answer"
    assert xlsx_cell(text) == text


def test_a_long_text_is_cut_within_the_limit_in_utf16_units_and_says_so():
    text = "🙂" * 20_000  # 40,000 UTF-16 units, 20,000 characters
    cell = xlsx_cell(text)
    assert cell.endswith(" […]")
    assert len(cell.encode("utf-16-le")) // 2 <= EXCEL_CELL_LIMIT
    assert cell[:-4] == "🙂" * len(cell[:-4])  # never half an emoji


def test_a_text_of_exactly_the_limit_is_not_cut():
    assert xlsx_cell("a" * EXCEL_CELL_LIMIT) == "a" * EXCEL_CELL_LIMIT
