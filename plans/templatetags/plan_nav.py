"""The plan navigation's items, declared once: the page's section (``section`` in the
template) is the item that carries aria-current="page", and the CSS highlights that."""

from django import template
from django.urls import reverse

from recovery.links import link

register = template.Library()

# (section, label, route, finance only). The section is the record pages' ``url_name`` where
# there is one; a record's detail, form, delete and history pages are in its list's section.
ITEMS = (
    ("plan", "Overview", "plans:plan_detail", False),
    ("dashboard", "Dashboard", "dashboards:plan_dashboard", False),
    ("month_end", "Month-end update", "plans:month_end", True),
    ("months", "Month close", "dashboards:months", False),
    ("published", "Published reports", "dashboards:published_list", False),
    ("line", "Savings lines", "plans:line_list", False),
    ("amount", "Planned amounts", "plans:amount_list", False),
    ("progress", "Progress", "plans:progress_list", False),
    ("workstream", "Workstreams", "plans:workstream_list", False),
    ("forecast", "Overspend forecasts", "plans:forecast_list", False),
    ("pressure", "Cost pressures", "plans:pressure_list", False),
    ("placementtype", "Placement types", "plans:placementtype_list", False),
    ("placementcount", "Placement counts", "plans:placementcount_list", False),
    ("placementmove", "Planned moves", "plans:placementmove_list", False),
    ("placementscenario", "What-ifs", "plans:placementscenario_list", False),
    ("funding", "Funding", "plans:funding_list", False),
    ("kpi", "KPIs", "plans:kpi_list", False),
    ("kpipoint", "KPI values", "plans:kpipoint_list", False),
    ("risk", "Risks", "plans:risk_list", False),
    ("commentary", "Commentary", "plans:commentary_list", False),
    ("adjustment", "Year adjustments", "plans:adjustment_list", False),
    ("section", "Narrative", "plans:section_list", False),
    ("history", "Audit trail", "plans:plan_history", False),
    ("deleted", "Deleted records", "plans:deletion_list", False),
)


@register.simple_tag
def plan_nav_items(plan, can_edit=False) -> list[tuple[str, str, str]]:
    """(section, label, url) for each item this user's plan navigation shows."""
    out = []
    for section, label, route, finance_only in ITEMS:
        if finance_only and not can_edit:
            continue
        if route == "dashboards:published_list":
            url = f"{reverse(route)}?plan={plan.pk}"
        else:
            url = link(route, plan.pk)
        out.append((section, label, url))
    return out
