"""recovery.links.link writes the URL reverse() does, for any route with whole-number ids,
under a script prefix too (a deployment under a sub-path)."""

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix

from plans.views.records import RECORD_TYPES
from recovery.links import link

ROUTES = [("plans:plan_detail", 1), ("dashboards:plan_dashboard", 1), ("plans:month_end", 1)] + [
    (f"plans:{r.url_name}_{kind}", n)
    for r in RECORD_TYPES
    for kind, n in (("list", 1), ("detail", 2), ("history", 2))
]


@pytest.mark.parametrize("prefix", ["/", "/recovery/"])
def test_link_is_reverse(prefix):
    set_script_prefix(prefix)
    try:
        for route, count in ROUTES:
            for ids in ([3, 41], [1, 0], [9876543210, 12], [10**12, 7]):
                assert link(route, *ids[:count]) == reverse(route, args=ids[:count]), route
    finally:
        clear_script_prefix()


def test_what_a_route_does_not_take_goes_to_reverse():
    from django.urls import NoReverseMatch

    with pytest.raises(NoReverseMatch):
        link("plans:plan_detail", -3)
    with pytest.raises(NoReverseMatch):
        link("plans:plan_detail", "3x")
