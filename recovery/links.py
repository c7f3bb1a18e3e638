"""Links to pages named by their route and whole-number ids (``/plans/3/lines/41/``), each
route reversed once rather than once a link.

A list of 25 records, with the plan's navigation of 24 items above it, asked ``reverse`` for
some 50 URLs a page, each a walk of the URL patterns; the pattern of a route is the same for
every id, so it is reversed once with stand-in ids and the ids are written into it. Only for
routes whose ids are ``<int:...>`` (a stand-in must be a value the route accepts).
"""

from __future__ import annotations

from functools import lru_cache

from django.urls import get_script_prefix, reverse

# Stand-in ids, none of them a substring of another or of anything else in a project URL.
_STAND_INS = tuple(9_876_543_210 + 1_111 * i for i in range(4))


@lru_cache(maxsize=256)
def _pattern(route: str, count: int, _prefix: str) -> str:
    url = reverse(route, args=_STAND_INS[:count]).replace("{", "{{").replace("}", "}}")
    for i, stand_in in enumerate(_STAND_INS[:count]):
        url = url.replace(str(stand_in), f"{{{i}}}", 1)
    return url


def link(route: str, *ids: int) -> str:
    """``reverse(route, args=ids)`` for whole-number ids (anything else goes to ``reverse``,
    which refuses what the route does not take)."""
    if any(type(i) is not int or i < 0 for i in ids):
        return reverse(route, args=ids)
    return _pattern(route, len(ids), get_script_prefix()).format(*ids)
