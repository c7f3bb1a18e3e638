"""The committee pack: a real PDF from the report's figures, in £k, a few pages."""

import re

import pytest
from django.urls import reverse

from dashboards import pack
from plans import figures as fg
from plans.models import Plan

pytestmark = pytest.mark.django_db


def _pages(html: str) -> int:
    from weasyprint import HTML

    return len(HTML(string=html).render().pages)


def test_the_mtfs_pack_at_p8_is_a_pdf_of_at_most_eight_pages_in_k(client, torbay_users, mtfs):
    client.force_login(torbay_users["director"])
    response = client.get(
        reverse("dashboards:report_pdf", args=[mtfs.pk]), {"year": "2017/18", "period": "8"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and "attachment" in response["Content-Disposition"]
    f = fg.plan_figures(mtfs, fg.Selection("2017/18", 8))
    html = pack.pack_html(f)
    assert _pages(html) <= 8
    # Money in £k as committees print it, and no pence anywhere in the pack's figures.
    assert "£1,578k" in html and "£789k" in html and "£526k" in html
    figures = re.sub(r"<[^>]+>", " ", html)
    # (The paper's own slip "£20.520" is quoted as printed, in the appendix.)
    assert not re.search(r"£[\d,]+\.\d\d(?!\d)", figures)
    # The paper's contradictions and the reconciliation are in the appendix.
    assert "Where the paper disagrees with itself" in html and "£174k" in html
    assert html.index("Appendix A") > html.index("5. Savings lines")


def test_the_footer_names_any_authority_correctly(client, seeded):
    telford = Plan.objects.get(authority__slug="telford")
    f = fg.plan_figures(telford, fg.Selection("2014/15", 12))
    html = pack.pack_html(f)
    # The footer is taken from the page's own text (string-set), never escaped into CSS.
    assert '<p class="footer-text">Telford &amp; Wrekin Council' in html
    assert "u0026" not in html


def test_a_shortfall_keeps_its_minus_sign_with_its_figure():
    from decimal import Decimal

    from recovery.money import format_money_k

    assert format_money_k(Decimal("-933333.33")) == "\u2212£933k"
    assert format_money_k(None) == "not reported"
