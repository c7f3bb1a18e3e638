from datetime import date

import pytest
from django.core.exceptions import ValidationError

from recovery import fiscal


@pytest.mark.parametrize(
    ("day", "year", "period"),
    [
        (date(2017, 4, 1), "2017/18", 1),
        (date(2017, 3, 31), "2016/17", 12),
        (date(2011, 10, 31), "2011/12", 7),
        (date(2016, 7, 15), "2016/17", 4),
        (date(2018, 1, 1), "2017/18", 10),
        (date(1999, 12, 31), "1999/00", 9),
    ],
)
def test_date_to_financial_year_and_period(day, year, period):
    assert fiscal.financial_year(day) == year
    assert fiscal.period(day) == period


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2017/18", "2017/18"),
        ("2017-18", "2017/18"),
        ("2017/2018", "2017/18"),
        # As papers print them (Telford: "Target Saving 14/15"), and with FY in front.
        ("17/18", "2017/18"),
        ("13/14", "2013/14"),
        ("FY2014/15", "2014/15"),
        (" 1999/00 ", "1999/00"),
    ],
)
def test_parse_year(text, expected):
    assert fiscal.parse_year(text) == expected


@pytest.mark.parametrize(
    "text", ["2017/19", "2017", "17/19", "17/2018", "abcd/ef", "", "2017/2019"]
)
def test_parse_year_rejects(text):
    with pytest.raises(ValidationError):
        fiscal.parse_year(text)


def test_validate_year_wants_the_written_form():
    fiscal.validate_year("2017/18")
    with pytest.raises(ValidationError):
        fiscal.validate_year("2017-18")


def test_periods_and_ranges():
    assert fiscal.period_end("2016/17", 4) == date(2016, 7, 31)
    assert fiscal.period_end("2016/17", 11) == date(2017, 2, 28)
    assert fiscal.period_label("2017/18", 7) == "P7 Oct 2017"
    assert fiscal.years_between("2017/18", "2020/21") == [
        "2017/18",
        "2018/19",
        "2019/20",
        "2020/21",
    ]
    assert fiscal.year_start("2017/18") == date(2017, 4, 1)
    assert fiscal.year_end("2017/18") == date(2018, 3, 31)
    with pytest.raises(ValidationError):
        fiscal.period_end("2017/18", 13)


def test_a_year_no_plan_can_have_is_asked_about_as_a_typing_slip():
    # Found walking the app: "2107/08 is not a financial year" for what is one, mistyped.
    with pytest.raises(ValidationError) as caught:
        fiscal.parse_year("2107/08")
    assert caught.value.code == "fy_range"
    assert "typing slip" in caught.value.messages[0]
    from plans.workbook import cells

    with pytest.raises(cells.CellError, match="is it a typing slip"):
        cells.year("2107/08")
    with pytest.raises(cells.CellError, match="is not a financial year; write it like"):
        cells.year("2O17/18")


def test_a_long_date_is_written_as_the_pages_write_it():
    # Found walking the app: the published workbook said "07 December 2026" where every page
    # says "7 December 2026".
    from datetime import datetime

    assert fiscal.long_date(date(2026, 12, 7)) == "7 December 2026"
    assert fiscal.long_date(datetime(2026, 12, 7, 9, 4), time=True) == "7 December 2026 09:04"
