"""Reading one cell: what officers type, and random values thrown at every reader."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plans.workbook import cells
from plans.workbook import resources as s
from plans.workbook.parser import parse
from plans.workbook.reader import RawSheet, RawWorkbook
from recovery.money import Amount

# ---- money and amounts, as officers type them


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("£1.2m", Amount.point(Decimal("1200000"))),
        ("129k", Amount.point(Decimal("129000"))),
        ("£1,120,000", Amount.point(Decimal("1120000"))),
        ("50k-600k", Amount.range(Decimal("50000"), Decimal("600000"))),
        ("£50k – £600k", Amount.range(Decimal("50000"), Decimal("600000"))),
        ("TBC", Amount.tbc()),
        ("tbc", Amount.tbc()),
        (129000, Amount.point(Decimal("129000"))),
        (1234.56, Amount.point(Decimal("1234.56"))),
        (0.1 + 0.2, Amount.point(Decimal("0.30"))),
        ("Nil", Amount.point(Decimal("0"))),  # as papers print nothing: a known £0
    ],
)
def test_amounts_as_officers_type_them(typed, expected):
    assert cells.amount(typed) == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-5000", "negative"),
        (-5000, "negative"),
        ("£2bn", "billions"),
        (5_000_000_000, "over £1bn"),
        ("about 5k", "not an amount"),
        ("600k-50k", "above the high"),
        (True, "TRUE/FALSE"),
        (datetime(2017, 4, 1), "date"),
    ],
)
def test_amounts_refused_with_a_reason(typed, message):
    with pytest.raises(cells.CellError, match=message):
        cells.amount(typed)


def test_tbc_is_only_for_year_columns():
    with pytest.raises(cells.CellError, match="TBC is only allowed"):
        cells.money("TBC")


@pytest.mark.parametrize("reader", [cells.number, cells.share, cells.money, cells.amount])
def test_enormous_numbers_are_refused_not_crashed_on(reader):
    # 1e999999999 is past Decimal's own range: abs() of it overflowed, a traceback.
    for value in (1e26, "1e26", 10**30, "9" * 40, "1e999999999", "-1E999999999"):
        with pytest.raises(cells.CellError):
            reader(value)


@pytest.mark.parametrize("reader", [cells.number, cells.share])
def test_vanishingly_small_numbers_are_zero(reader):
    assert reader("1e-999999999") == 0 and reader("0e999999999") == 0


def test_text_in_a_number_cell():
    with pytest.raises(cells.CellError, match="not a number"):
        cells.number("lots")
    with pytest.raises(cells.CellError, match="not an amount"):
        cells.money("n/a")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("31/10/2017", date(2017, 10, 31)),
        ("2017-10-31", date(2017, 10, 31)),
        ("31 Oct 2017", date(2017, 10, 31)),
        ("Oct 2017", date(2017, 10, 31)),
        ("February 2012", date(2012, 2, 29)),
        (datetime(2017, 10, 31), date(2017, 10, 31)),
        (43039, date(2017, 10, 31)),
        ("Oct-17", date(2017, 10, 31)),  # as committee papers print a month
        ("Feb 16", date(2016, 2, 29)),
    ],
)
def test_dates(typed, expected):
    assert cells.a_date(typed) == expected


# "Jan 0000": a month of year 0 raised ValueError from date() (found by fuzzing import_plan).
@pytest.mark.parametrize("typed", ["31/13/2017", "yesterday", 12.5, True, "Jan 0000"])
def test_bad_dates(typed):
    with pytest.raises(cells.CellError):
        cells.a_date(typed)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (7, 7),
        (7.0, 7),
        ("P7", 7),
        ("p07", 7),
        ("Oct", 7),
        ("October", 7),
        ("April", 1),
        ("March", 12),
        ("Month 4", 4),  # as finance reports name the month
        ("M5", 5),
        ("Period 8", 8),
        ("mth 10", 10),
    ],
)
def test_periods(typed, expected):
    assert cells.period(typed) == expected


@pytest.mark.parametrize("typed", [0, 13, 7.5, "P13", "Octember", "Month 13", "Q3"])
def test_bad_periods(typed):
    with pytest.raises(cells.CellError, match="not a period"):
        cells.period(typed)


def test_a_choice_may_be_its_label_without_the_explanation():
    from plans.models import Plan

    label = dict(Plan.AmountBasis.choices)[Plan.AmountBasis.IN_YEAR]
    assert "(" in label
    assert cells.choice("In-year values", Plan.AmountBasis) == Plan.AmountBasis.IN_YEAR


def test_an_overlong_text_names_itself():
    with pytest.raises(cells.CellError, match="'x{37}...' is 50 characters long; at most 40"):
        cells.text("x" * 50, max_length=40)


def test_choices_accept_values_labels_and_rag_letters():
    col = s.LINES.by_field["rag"]
    assert cells.read(col, "Blue (delivered)") == "blue"
    assert cells.read(col, "AMBER") == "amber"
    assert cells.read(col, "r") == "red"
    assert cells.read(s.LINES.by_field["status"], "in delivery") == "in_delivery"
    assert cells.read(s.LINES.by_field["recurrence"], "One-off") == "one_off"
    assert cells.read(s.KPIS.by_field["unit"], "Rate per 10,000 children") == "rate"
    with pytest.raises(cells.CellError, match="not one of"):
        cells.read(col, "Purple")


def test_shares_and_kpi_percentages():
    assert cells.share("50%") == Decimal("0.5000")
    assert cells.share(0.5) == Decimal("0.5000")
    with pytest.raises(cells.CellError, match="between 0 and 1"):
        cells.share(1.5)
    assert cells.number(0.125, percent=True) == Decimal("12.50")
    assert cells.number("12.5%") == Decimal("12.50")


def test_years():
    assert cells.year("2017-18") == "2017/18"
    assert cells.year("2017/2018") == "2017/18"
    assert cells.year("14/15") == "2014/15"
    for bad in ["2017/19", 2017, "17/19"]:
        with pytest.raises(cells.CellError, match="financial year"):
            cells.year(bad)


def test_text_length_and_codes():
    with pytest.raises(cells.CellError, match="at most 40"):
        cells.read(s.LINES.by_field["reference"], "X" * 41)
    with pytest.raises(cells.CellError, match="e.g. my-plan"):
        cells.read(s.PLAN.by_field["code"], "My Plan!")
    assert cells.read(s.LINES.by_field["reference"], 34.0) == "34"


def test_a_text_a_download_could_not_write_back_whole_is_refused():
    # 32,767 characters fit a cell, but one starting "-" is exported with the apostrophe that
    # keeps it from being read as a formula: it would be cut, and change on re-import.
    notes = s.LINES.by_field["notes"]
    assert len(cells.read(notes, "x" * 32_767)) == 32_767
    with pytest.raises(cells.CellError, match="starts with '-'.*at most 32,766 characters"):
        cells.read(notes, "-" + "x" * 32_766)


def test_formula_text_is_neutralised_and_restored():
    for text in ["=SUM(A1)", "+44", "-5", "@cmd", "'=already", "''=x", "\tTab"]:
        out = cells.neutralise(text)
        assert not out.startswith(cells.FORMULA_STARTS)
        assert cells.unneutralise(out) == text
    assert cells.neutralise("Plain") == "Plain"
    assert cells.neutralise("'quoted") == "'quoted"


# ---- properties: random values never crash a reader


ANY_CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.sampled_from(
        [
            "TBC",
            "£1.2m",
            "50k-600k",
            "129k",
            "=SUM(A1:A3)",
            "-",
            "£",
            "k",
            "1e9",
            "NaN",
            "Infinity",
            "(5k)",
            "£1,2,3",
            "0.125",
            "P0",
            "31/02/2017",
            "Y",
            "N",
            "Amber",
            "2017/18",
            "1.2.3",
            "\u00a0",
            "٣",
            "½",
            # A control character that regular expressions count as white space and float()
            # does not (found by this test: a 500 on a whole-number column).
            "0\x1f",
            "\x1c7\x1d",
        ]
    ),
)
ALL_COLUMNS = [c for spec in s.SHEETS for c in spec.columns]


@pytest.mark.parametrize("value", ["3\x1f", "\x1c3\x1d", " 3.00 ", "\u0663"])
def test_a_whole_number_around_control_white_space_is_read(value):
    # Python's \s matches the separators \x1c-\x1f, which float() refused: a traceback.
    likelihood = next(c for c in ALL_COLUMNS if c.kind == s.INT and c.high == 5)
    assert cells.read(likelihood, value) == 3


@given(value=ANY_CELL, column=st.sampled_from(ALL_COLUMNS), percent=st.booleans())
@settings(max_examples=600, deadline=None)
def test_any_value_in_any_column_is_read_or_refused_with_a_message(value, column, percent):
    try:
        result = cells.read(column, value, percent=percent)
    except cells.CellError as exc:
        assert str(exc)
        return
    if result is None:
        return
    expected = {
        s.MONEY: Decimal,
        s.SIGNED_MONEY: Decimal,
        s.NUMBER: Decimal,
        s.VOLUME: Decimal,
        s.SHARE: Decimal,
        s.INT: int,
        s.PERIOD: int,
        s.DATE: date,
        s.BOOL: bool,
    }.get(column.kind, str)
    assert isinstance(result, expected)
    if column.kind == s.MONEY:
        assert Decimal(0) <= result < Decimal(10**9)
    if column.kind in (s.MONEY, s.SIGNED_MONEY, s.NUMBER):
        assert result == result.quantize(Decimal("0.01"))
    if column.kind == s.PERIOD:
        assert 1 <= result <= 12
    if column.kind == s.CHOICE:
        assert result in column.choices.values


@given(value=ANY_CELL)
@settings(max_examples=400, deadline=None)
def test_any_value_in_a_year_column_is_an_amount_or_refused(value):
    try:
        amount = cells.amount(value)
    except cells.CellError:
        return
    if amount.kind.value != "tbc":
        assert Decimal(0) <= amount.low <= amount.high < Decimal(10**9)


@given(pounds=st.decimals(min_value=0, max_value=Decimal("999999999.99"), places=2))
def test_money_written_as_a_float_cell_reads_back_exactly(pounds):
    assert cells.money(float(pounds)) == pounds


@given(text=st.text(max_size=40))
def test_neutralise_round_trips_any_text(text):
    assert cells.unneutralise(cells.neutralise(text)) == text
    assert not cells.neutralise(text).startswith(cells.FORMULA_STARTS)


# ---- properties: random sheets through the whole parser (no file, no database)

HEADERS = [c.header for c in s.LINES.columns] + ["2017/18", "2018/19", "Mystery", None]


@given(
    headers=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=12),
    rows=st.lists(st.lists(ANY_CELL, max_size=12), max_size=15),
    plan_values=st.lists(ANY_CELL, min_size=7, max_size=7),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_sheets_give_problems_with_places_never_exceptions(headers, rows, plan_values):
    plan = RawSheet(
        "Plan",
        rows=[(1, ("Field", "Value"))]
        + [
            (i + 2, (label, value))
            for i, (label, value) in enumerate(
                zip(
                    [
                        "Authority",
                        "Plan code",
                        "Title",
                        "Kind",
                        "First year",
                        "Last year",
                        "Status",
                    ],
                    plan_values,
                    strict=True,
                )
            )
        ],
        last_row=9,
        last_column=2,
    )
    lines = RawSheet(
        "Savings lines",
        rows=[(1, tuple(headers))] + [(i + 2, tuple(r)) for i, r in enumerate(rows)],
        last_row=len(rows) + 1,
        last_column=12,
    )
    parsed = parse(RawWorkbook({"Plan": plan, "Savings lines": lines}))
    for problem in parsed.problems:
        assert problem.message
        if problem.row is not None:
            assert problem.sheet in {"Plan", "Savings lines"}
            assert 1 <= problem.row <= len(rows) + 9
    lines_sheet = parsed.sheets.get("Savings lines")
    if lines_sheet is not None:  # every data row keeps its place and one cell per column
        assert len(lines_sheet.rows) == len(lines_sheet.numbers)
        assert all(len(row) == len(lines_sheet.headers) for row in lines_sheet.rows)
        assert all(2 <= n <= len(rows) + 1 for n in lines_sheet.numbers)


def test_an_escaped_nul_is_refused():
    # Found by fuzzing import_plan: _x0000_ reached PostgreSQL, which refuses NUL in text.
    with pytest.raises(cells.CellError, match="NUL"):
        cells.text("Plan_x0000_")


@pytest.mark.parametrize("typed", ["(clear)", "( clear )", "[Clear]", " (CLEAR) "])
def test_clear_is_read_however_bracketed_spaced_or_capitalised(typed):
    assert cells.is_clear(typed)


@pytest.mark.parametrize("typed", ["clear", "Clear the backlog", "(cleared)", None, 0])
def test_text_that_only_mentions_clear_is_text(typed):
    assert not cells.is_clear(typed)


@pytest.mark.parametrize("header", ["Total 2017/18-2019/20", "Sub-total 2017/18", "TOTAL (£k)"])
def test_an_officers_total_column_is_not_a_year_column(header):
    assert cells.year_header(header) is None  # noted as a column not read, never an error


@pytest.mark.parametrize("typed", ["CLEAR", " clear ", "Delete"])
def test_a_bare_clear_in_a_figure_says_how_to_clear_it(typed):
    # Found walking the import: "CLEAR" was "not an amount of money", naming no way to clear.
    for read in (cells.money, cells.amount):
        with pytest.raises(cells.CellError, match=r"type \(clear\) with its brackets"):
            read(typed)
