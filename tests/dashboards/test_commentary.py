"""Commentary written where it is read: on the dashboard, the month preset, no money reason."""

import pytest
from django.urls import reverse

from plans import services
from plans.models import Commentary, MonthClose

pytestmark = pytest.mark.django_db


def _post(client, plan, body, version="", year="2017/18", period="7"):
    return client.post(
        reverse("dashboards:commentary", args=[plan.pk]),
        {"year": year, "period": period, "body": body, "version": version},
    )


def test_a_director_writes_and_edits_the_months_commentary_on_the_dashboard(
    client, torbay_users, mtfs
):
    director = torbay_users["director"]
    client.force_login(director)
    url = reverse("dashboards:plan_dashboard", args=[mtfs.pk])
    page = client.get(url, {"year": "2017/18", "period": "7"})
    html = page.content.decode()
    assert "Write the director&#x27;s commentary for P7 Oct 2017" in html
    assert "Reason for the change" not in html  # no money reason asked
    response = _post(client, mtfs, "Placements are moving; two residential moves slipped.")
    assert response.status_code == 302 and response.url.endswith("period=7#h-commentary")
    c = Commentary.objects.get(plan=mtfs, year="2017/18", period=7)
    assert (c.role, c.author, c.version) == ("director", director, 1)
    page = client.get(url, {"year": "2017/18", "period": "7"}).content.decode()
    assert "Two residential moves" not in page and "two residential moves slipped" in page
    assert "Edit the director&#x27;s commentary" in page and "Written by" in page
    _post(client, mtfs, "Updated: three moves slipped.", version="1")
    c.refresh_from_db()
    assert (c.body, c.version) == ("Updated: three moves slipped.", 2)
    # Edited by a colleague, it still says who wrote it and when, and who edited it.
    from django.utils import timezone

    c.written_at = timezone.now() - timezone.timedelta(days=2)
    c.save(update_fields=["written_at"])
    colleague = torbay_users["finance"]
    Commentary.objects.filter(pk=c.pk).update(author=colleague)
    c.refresh_from_db()
    assert c.written_by == director
    written = f"{timezone.localtime(c.written_at):%-d %B %Y}"
    edited = f"{timezone.localtime(c.updated_at):%-d %B %Y}"
    byline = (
        f"Written by {director.get_full_name() or director.username} on {written}; "
        f"last edited by {colleague.get_full_name() or colleague.username} on {edited}"
    )
    assert c.byline == byline
    page = client.get(url, {"year": "2017/18", "period": "7"}).content.decode()
    assert byline in page
    # A later month's report shows the latest commentary with its own month and date.
    report = client.get(
        reverse("dashboards:report", args=[mtfs.pk]), {"year": "2017/18", "period": "9"}
    ).content.decode()
    assert "Updated: three moves slipped." in report and "P7 Oct 2017" in report


def test_a_stale_edit_keeps_the_officers_words_and_shows_the_colleagues(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    _post(client, mtfs, "First version.")
    response = _post(client, mtfs, "My version, written meanwhile.", version="")
    assert response.status_code == 400
    html = response.content.decode()
    assert "A colleague saved this month" in html and "My version, written meanwhile." in html
    assert Commentary.objects.get(plan=mtfs).body == "First version."


def test_finance_writes_the_finance_commentary_and_scrutiny_none(client, torbay_users, mtfs):
    client.force_login(torbay_users["finance"])
    _post(client, mtfs, "Finance view of October.")
    assert Commentary.objects.get(plan=mtfs).role == "finance"
    client.force_login(torbay_users["scrutiny"])
    page = client.get(reverse("dashboards:plan_dashboard", args=[mtfs.pk])).content.decode()
    assert "commentary-form" not in page
    assert _post(client, mtfs, "A councillor's view.").status_code == 403
    assert Commentary.objects.count() == 1


def test_bad_months_are_refused_without_a_500(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    for year, period in [("2017/18", "13"), ("1999/00", "1"), ("soon", "x"), ("", "")]:
        assert _post(client, mtfs, "x", year=year, period=period).status_code == 400
    assert not Commentary.objects.exists()


def test_directors_land_on_their_dashboard(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    response = client.get(reverse("dashboards:landing"))
    assert response.url == reverse("dashboards:plan_dashboard", args=[mtfs.pk])
    client.force_login(torbay_users["finance"])
    assert client.get(reverse("dashboards:landing")).url == reverse("plans:plan_list")


@pytest.mark.parametrize(
    ("state", "director_writes", "finance_writes"),
    [
        ("submitted", True, False),  # the director may still comment on what was submitted
        ("signed_off", False, False),
        ("published", False, False),
    ],
)
def test_a_closed_month_offers_no_commentary_form_and_says_why(
    client, torbay_users, mtfs, state, director_writes, finance_writes
):
    # The form was offered on a published month and its save refused with a 400.
    MonthClose.objects.create(plan=mtfs, year="2017/18", period=7, state=state)
    url = reverse("dashboards:plan_dashboard", args=[mtfs.pk])
    for role, writes in (("director", director_writes), ("finance", finance_writes)):
        client.force_login(torbay_users[role])
        html = client.get(url, {"year": "2017/18", "period": "7"}).content.decode()
        assert ("commentary-form" in html) is writes, role
        assert ('id="commentary-locked"' in html) is not writes, role
        if not writes:
            assert "for P7 Oct 2017 cannot be changed now." in html
            assert services.locked_message("2017/18", 7, state) in html.replace("&#x27;", "'")
            refused = _post(client, mtfs, "Too late.")
            assert refused.status_code == 400
            # What the officer typed is kept on the page to copy, not thrown away.
            assert 'id="commentary-unsaved"' in refused.content.decode()
            assert "Too late.</textarea>" in refused.content.decode()
    assert not Commentary.objects.filter(body="Too late.").exists()


def test_the_form_bounds_its_text_and_its_address_reopens_the_dashboard(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    page = client.get(
        reverse("dashboards:plan_dashboard", args=[mtfs.pk]), {"year": "2017/18", "period": "7"}
    ).content.decode()
    assert 'name="body" id="id_body" rows="4" maxlength="10000"' in page
    # A refused save leaves the commentary address in the browser's bar: reloading it (a GET)
    # opens the month's dashboard, not an empty 405.
    response = client.get(
        reverse("dashboards:commentary", args=[mtfs.pk]), {"year": "2017/18", "period": "7"}
    )
    dashboard = reverse("dashboards:plan_dashboard", args=[mtfs.pk])
    assert response.status_code == 302
    assert response.url == f"{dashboard}?year=2017%2F18&period=7#h-commentary"
    # Another authority's plan is still a 404, whatever the method.
    client.force_login(torbay_users["director"])
    from plans.models import Plan

    telford = Plan.objects.get(authority__slug="telford")
    assert client.get(reverse("dashboards:commentary", args=[telford.pk])).status_code == 404


def test_who_wrote_a_commentary_is_kept_whatever_creates_it(torbay_users, mtfs):
    # Found in review: only the dashboard's save kept the writer; the record pages and a
    # workbook import left the byline to the latest editor.
    director, finance = torbay_users["director"], torbay_users["finance"]
    c = Commentary.objects.create(
        plan=mtfs, year="2017/18", period=6, body="Made.", author=director
    )
    assert c.written_by == director and c.written_at is not None
    services.save_commentary(
        plan=mtfs,
        year="2017/18",
        period=6,
        role="director",
        body="Edited.",
        user=finance,
        expected_version=c.version,
    )
    c.refresh_from_db()
    assert c.written_by == director and c.author == finance
    assert c.byline.startswith(f"Written by {director.get_full_name() or director.username} on ")
    assert "; last edited by " in c.byline
    # A writer whose account is gone is "a former user", never "the paper".
    c.written_by = None
    assert "Written by a former user on " in c.byline
    # The paper's own commentary (no author) is the paper's.
    paper = Commentary.objects.create(plan=mtfs, year="2017/18", period=5, body="As printed.")
    assert paper.written_at is None and paper.byline.startswith("Written by the paper on ")


def test_a_word_line_break_pasted_into_commentary_is_a_line_break(client, torbay_users, mtfs):
    # Found reviewing the change: the dashboard's commentary box stored Word's line break (a
    # vertical tab) and a bell, which a workbook cell cannot hold.
    client.force_login(torbay_users["director"])
    _post(client, mtfs, "Placements moving.\x0bTwo moves slipped.\x07")
    c = Commentary.objects.get(plan=mtfs, year="2017/18", period=7)
    assert c.body == "Placements moving.\nTwo moves slipped."


def test_the_published_report_says_a_forecasts_month_is_assumed(client, torbay_users, seeded):
    from plans.models import Plan
    from tests.factories import publish_as_stored

    barking = Plan.objects.get(authority__slug="barking-dagenham")
    report = publish_as_stored(barking, "2014/15", 10)
    [december] = [p for p in report.figures["forecasts"] if p["period"] == 9]
    assert december["month_assumed"] and december["month"] == "P9 Dec 2014"
