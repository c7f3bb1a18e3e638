"""Figures, and what is rendered from them, cached by the plan's data version.

A plan's figures change only when one of its records does, and every write gives the plan a
fresh ``data_version`` in the same transaction (``plans.services.data_changed``; the admin
too). So a key that holds the data version is never stale: after a change the page asks for a
key nobody has written, and builds it again. Nothing is invalidated or expired for
correctness; the timeout only frees the memory of plans nobody reads.

What is cached is the same for every reader of the plan (the figures and what is rendered
from them alone); whatever depends on the reader (the commentary form, the navigation bar,
messages, the CSRF token and CSP nonce) is rendered for each request around it. The key holds
the role all the same, and access is decided before the cache is asked (``get_plan``: another
authority's plan is a 404 whether or not its figures are cached).

Here in ``plans`` so that the plans' own pages (the plan list's totals) share it with the
dashboards. The cache is Django's (``CACHE_URL``): each process's memory by default; Redis or the
database cache to share it between several processes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from plans import figures


def _code_version() -> str:
    """A fingerprint of the code and templates that render what is cached: a deploy that
    changes any of them asks for keys nobody has written, so a cache shared between
    processes and kept across a deploy (Redis, the database) never serves a fragment rendered
    by the old code. Read once a process (a few hundred small files)."""
    root = Path(settings.BASE_DIR)
    digest = hashlib.sha256()
    for folder in ("plans", "dashboards", "recovery", "templates"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".py", ".html") and "migrations" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


KEY_VERSION = _code_version()


def figures_key(plan, *parts) -> str:
    """The key of something built from ``plan``'s figures: its data version, what else the
    pages show that lives outside the plan (the authority's name and child population and its
    source, the
    RAG settings) and ``parts`` (page, month, role...)."""
    authority = plan.authority
    text = repr(
        (
            KEY_VERSION,
            str(plan.data_version),
            authority.pk,
            authority.name,
            authority.child_population,
            authority.child_population_source,
            str(settings.RAG_RED_SHARE_OF_BUDGET),
            str(settings.RAG_RED_AMOUNT),
            str(settings.KPI_TOLERANCE),
            *parts,
        )
    )
    return f"figures:{plan.pk}:{hashlib.sha256(text.encode()).hexdigest()}"


def get_or_build(key: str, build):
    """The cached value under ``key``, else ``build()`` stored there."""
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value)
    return value


def plan_totals(plans) -> dict:
    """``plans.figures.plan_totals`` of ``plans`` (loaded with their authority), each plan's
    read from the cache when its data version has not changed since they were computed: one
    cache read for them all, and the figures computed (in one set of queries) for the plans
    whose totals it does not hold. What a list of plans shows then costs its page's plans,
    whatever the number of progress entries behind them."""
    keys = {plan.pk: figures_key(plan, "totals") for plan in plans}
    found = cache.get_many(list(keys.values()))
    out = {pk: found[key] for pk, key in keys.items() if key in found}
    missing = [plan for plan in plans if plan.pk not in out]
    if missing:
        made = figures.plan_totals(missing)
        cache.set_many({keys[pk]: totals for pk, totals in made.items()})
        out.update(made)
    return out
