"""Helpers for the headless-Chromium tests (the ``chromium_page`` fixture is in conftest)."""

from html.parser import HTMLParser

from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse


def log_in(page, live_server, username, password="pw"):
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def submit(page, selector):
    """Click a form's button and wait for the page the server answers with.

    ``page.click`` returns once the click is sent; reading ``page.content()`` straight after may
    catch the old page unloading (an empty document), so the next navigation is awaited.
    """
    with page.expect_navigation(wait_until="load"):
        page.locator(selector).first.click()


def serious_violations(page, rules: list[str] | None = None) -> list[str]:
    """axe's serious and critical findings on the page as it stands (of ``rules`` alone, when
    given: axe's every rule takes seconds on a long dashboard)."""
    options = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    return [
        f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
        for v in Axe().run(page, options=options).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push([e.violatedDirective, e.blockedURI, e.sourceFile + ":" + e.lineNumber,
                     e.sample].join(" | "));
}, true);
"""


class InlineCode(HTMLParser):
    """What the policy would refuse in served HTML, found without waiting for it to run: an
    event-handler attribute fires (and is refused) only when its event happens."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        for name, _ in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}=...>")
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.found.append("inline <script>")
        if tag == "style" and "nonce" not in names:
            self.found.append("<style> without the nonce")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


class PolicyWatch:
    """Loads pages and collects what the policy refused on each."""

    def __init__(self, page, base: str):
        self.page, self.base = page, base
        self.problems: list[str] = []
        self.console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)
        page.on("response", self._response)
        self.documents = 0

    def _console(self, message):
        text = message.text
        if message.type == "error" and ("Content Security Policy" in text or "Refused" in text):
            self.console.append(f"{self.page.url}: {text}")

    def _response(self, response):
        if response.request.resource_type != "document":
            return
        self.documents += 1
        if "content-security-policy" not in response.headers:
            self.problems.append(f"{response.url}: no Content-Security-Policy header")
        try:
            html = response.text()
        except Exception:  # a redirect has no body to read
            return
        self.problems += [f"{response.url}: {found}" for found in inline_code(html)]

    def collect(self, label: str = "") -> None:
        # One round trip for a page without charts: whether it has any, and what was refused.
        charts, found = self.page.evaluate(
            "() => [document.querySelectorAll('[data-plotly-figure]').length, window.__csp || []]"
        )
        if charts:
            self.exercise_charts()
            found = self.page.evaluate("() => window.__csp || []")
        self.problems += [f"{label or self.page.url}: {v}" for v in found]

    def visit(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")
        self.collect(path)

    def exercise_charts(self) -> None:
        """Draw every chart, open every folded section (charts resize) and hover a chart:
        plotly adds its style rules and hover labels at run time."""
        page = self.page
        page.wait_for_selector(".js-plotly-plot .main-svg", state="attached")
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        charts = page.locator(".js-plotly-plot")
        assert charts.count() == page.locator("[data-plotly-figure]").count(), page.url
        first = charts.first
        first.scroll_into_view_if_needed()
        box = first.bounding_box()
        if box:
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
        page.wait_for_timeout(200)
        # plotly's own rules went in (through the CSSOM, into the empty <style> the policy
        # allows by its hash): the charts are styled, not merely unblocked.
        rules = page.evaluate(
            "() => { const s = document.getElementById('plotly.js-style-global');"
            " return s && s.sheet ? s.sheet.cssRules.length : 0; }"
        )
        assert rules > 0, f"{page.url}: plotly.js could not add its style rules"

    def assert_clean(self) -> None:
        assert self.documents, "no page was loaded"
        problems = self.problems + self.console
        assert not problems, "\n".join(problems[:40])
