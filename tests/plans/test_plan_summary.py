"""plan_summary --json gives the seed papers' own figures, from the shared figure module."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def summary(seeded):
    out = StringIO()
    call_command("plan_summary", "--json", stdout=out)
    return {row["source"]: row for row in json.loads(out.getvalue())}


def test_one_object_per_plan_with_identity(summary):
    assert len(summary) == 5
    mtfs = summary["002_24ee55b955d66714.txt"]
    assert mtfs["authority"] == "Torbay Council"
    assert isinstance(mtfs["id"], int)
    assert "Medium Term Financial Strategy" in mtfs["title"]
    assert set(mtfs["years"]) == {"2017/18", "2018/19", "2019/20", "2020/21"}


def test_torbay_2011_12_target_achieved_gap(summary):
    year = summary["000_d54be78429e3131a.txt"]["years"]["2011/12"]
    assert year["planned_low"] == year["planned_high"] == "250000.00"
    assert year["achieved"] == "144000.00"
    assert year["gap_low"] == "106000.00"


@pytest.mark.parametrize(
    ("year", "low", "high", "tbc"),
    [
        ("2017/18", "1578000.00", "1578000.00", 0),
        ("2018/19", "1314000.00", "1864000.00", 1),
        ("2019/20", "1769000.00", "2319000.00", 1),
        ("2020/21", "247000.00", "797000.00", 1),
    ],
)
def test_torbay_mtfs_years(summary, year, low, high, tbc):
    figures = summary["002_24ee55b955d66714.txt"]["years"][year]
    assert (figures["planned_low"], figures["planned_high"], figures["tbc_lines"]) == (
        low,
        high,
        tbc,
    )
    # Nothing reported is null, not "0.00"; so is every figure computed from it.
    assert figures["achieved"] is None and figures["gap_low"] is None
    assert figures["forecast"] is None


def test_torbay_mtfs_totals_adjustment_and_slippage(summary):
    mtfs = summary["002_24ee55b955d66714.txt"]
    assert (mtfs["total"]["planned_low"], mtfs["total"]["planned_high"]) == (
        "4908000.00",
        "6558000.00",
    )
    assert mtfs["years"]["2017/18"]["adjusted_low"] == "789000.00"
    assert mtfs["slippage"] == {"2016/17": "1007221.00"}


def test_barking_and_telford_totals(summary):
    assert summary["003_457804c524a890cd.txt"]["years"]["2014/15"]["planned_low"] == "1120000.00"
    assert summary["004_7e5f9225b21e7d89.txt"]["years"]["2014/15"]["planned_low"] == "1329000.00"


def test_summary_agrees_with_every_stated_total(seeded):
    """Computed beside stated: every planned/adjusted/achieved/gap/slippage/line total the
    papers print is reproduced exactly."""
    from plans.figures import reconcile
    from plans.models import Plan

    checked = 0
    for plan in Plan.objects.all():
        for r in reconcile(plan):
            if r.agrees is None:
                continue
            assert r.agrees, (
                f"{plan.code} {r.key}: stated {r.stated_text}, computed "
                f"{r.computed_low}-{r.computed_high}"
            )
            checked += 1
    assert checked >= 25


def test_plain_text_output(seeded):
    out = StringIO()
    call_command("plan_summary", "--authority", "torbay", stdout=out)
    text = out.getvalue()
    assert "Torbay Council" in text and "Telford" not in text


def test_as_at_figures_follow_the_papers(summary):
    mtfs = summary["002_24ee55b955d66714.txt"]["as_at"]
    # The paper's month: Table 2 runs to March 2017, but projects January to March.
    assert (mtfs["year"], mtfs["period"]) == ("2016/17", 10)
    assert mtfs["achieved"] is None and mtfs["delivery_variance"] is None
    assert mtfs["reserves"]["to_be_repaid_no_agreed_plan"] == "3400000.00"
    assert mtfs["reserves"]["still_to_repay"] is None
    assert "disagrees with itself in 8 places" in mtfs["reconciliation_summary"]
    torbay = summary["000_d54be78429e3131a.txt"]
    assert torbay["savings_start"] == "2012-02-01"
    assert (torbay["as_at"]["label"], torbay["as_at"]["achieved"]) == ("P11 Feb 2012", "144000.00")
    # An in-year target expected from February 2012: half of it by the end of February.
    assert torbay["as_at"]["expected_to_date_low"] == "125000.00"
    barking = summary["003_457804c524a890cd.txt"]["as_at"]
    assert barking["achieved"] is None and barking["net_at_risk_low"] is None
    assert barking["mitigations"] == [
        {
            "label": "Children's Services, P10 Jan 2015",
            "before": "4652000.00",
            "after": "3751000.00",
            "effect": "-901000.00",
        }
    ]
    telford = summary["004_7e5f9225b21e7d89.txt"]
    assert telford["as_at"]["label"] == "P9 Dec 2013"
    agency = next(k for k in telford["as_at"]["kpis"] if k["code"] == "agency-social-workers")
    assert agency["latest"]["value"] == "7.00" and agency["rag"] is None
    assert len(summary["002_24ee55b955d66714.txt"]["discrepancies"]) == 8
