"""The month-end page's running totals read money as the save does.

``static/js/month_end.js`` restates ``recovery.money.parse_money`` for the totals shown while
an officer types (a page cannot call the server per keystroke): every figure here is read by
both to the same pounds, or refused by both. Its function is run in headless Chromium, on a
blank page (no policy there forbids building it from its source)."""

import json
from pathlib import Path

import pytest

from recovery.money import MoneyError, parse_money
from tests.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

SOURCE = Path(__file__).resolve().parents[1] / "static" / "js" / "month_end.js"
FIGURES = [
    *["129000", "£129,000", "129k", "£1.2m", "(5,000)", "-£5,000", "£-5,000", "£−5", "10k"],
    *["1 200 000", "20.52", "nil", "£nil", "129 k", ".5m", "– 3,000", "—5", "1,234-"],
    *["£(1,234)", "GBP 1,200", "1,200 GBP", "1.2 million", "500 thousand", "0", "£0.01"],
    *["£ 5", "1.2345k"],
    # Refused by both: never counted in the totals.
    *["12,34", "12 34", "20.520", "2bn", "12..5k", "1,2345", "--5", "(-5)", "1.2345"],
    *["1.234567k", "abc", "5 - 6", "£1,000.500"],
]


def server(text):
    try:
        return float(parse_money(text, allow_negative=True))
    except MoneyError:
        return None


def test_the_running_totals_read_every_figure_as_the_save_does():
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    source = SOURCE.read_text()
    body = source[source.index("  var NUMBER") : source.index("  function show(")]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        read = page.evaluate(
            """([body, figures]) => {
                const parse = new Function(body + "; return parseMoney;")();
                return figures.map(f => { const v = parse(f); return Number.isNaN(v) ? null : v; });
            }""",
            [body, FIGURES],
        )
        browser.close()
    differ = [(f, server(f), js) for f, js in zip(FIGURES, read, strict=True) if server(f) != js]
    assert not differ, json.dumps(differ, ensure_ascii=False)
    assert read.count(None) == 13  # the refused ones are refused, not all read as one
