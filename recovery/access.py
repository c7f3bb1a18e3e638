"""Who may see and do what, in one place.

Three roles, as Django groups: ``finance`` (create, edit, delete within its authority; submit
a month), ``director`` (read everything in its authority, write commentary; sign off, publish
and reopen a month) and ``scrutiny`` (read published reports only).
A user belongs to one authority; another authority's records are a 404, never a 403, so
their existence does not leak. Superusers see every authority.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

FINANCE, DIRECTOR, SCRUTINY = "finance", "director", "scrutiny"
ROLES = (FINANCE, DIRECTOR, SCRUTINY)
ROLE_LABELS = {
    FINANCE: "Finance manager",
    DIRECTOR: "Director",
    SCRUTINY: "Scrutiny member",
}

# What each role may do, as Django permission codenames on the plans app's models.
EDITABLE_MODELS = (
    "plan",
    "narrativesection",
    "workstream",
    "savingsline",
    "plannedamount",
    "progressentry",
    "yearadjustment",
    "statedfigure",
    "overspendforecast",
    "costpressure",
    "funding",
    "kpi",
    "kpipoint",
    "risk",
    "commentary",
    "placementtype",
    "placementcount",
    "placementmove",
    "placementscenario",
)
# The month's close (plans.models.MonthClose): who takes each step, and who may see figures
# before they are published. Scrutiny members read published reports only: what finance is
# halfway through entering is never in front of them.
CLOSE_PERMISSIONS = {
    # Finance may also reopen a published month and publish its correction as a new version
    # (with the reason): the first publication needs the director's sign-off.
    FINANCE: ["submit_month", "withdraw_month", "reopen_month", "republish_month"],
    DIRECTOR: ["return_month", "signoff_month", "publish_month", "reopen_month", "republish_month"],
}
ROLE_PERMISSIONS = {
    FINANCE: [
        f"{action}_{model}"
        for model in EDITABLE_MODELS
        for action in ("view", "add", "change", "delete")
    ]
    + CLOSE_PERMISSIONS[FINANCE]
    + ["view_monthclose", "view_publishedreport", "view_unpublished"],
    DIRECTOR: [f"view_{model}" for model in EDITABLE_MODELS]
    + ["add_commentary", "change_commentary"]
    + CLOSE_PERMISSIONS[DIRECTOR]
    + ["view_monthclose", "view_publishedreport", "view_unpublished"],
    SCRUTINY: ["view_publishedreport"],
}


def role_of(user) -> str | None:
    """The user's role name; superusers count as finance (they may do everything)."""
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return FINANCE
    cached = getattr(user, "_recovery_role", "unset")
    if cached != "unset":
        return cached
    names = {g.name for g in user.groups.all()}
    role = next((r for r in ROLES if r in names), None)
    remember_role(user, role)
    return role


def remember_role(user, role: str | None) -> None:
    """Keep ``role_of(user)`` on the user object (one request's), read with the user."""
    user._recovery_role = role


def can(user, action: str, model: str) -> bool:
    """``can(user, "change", "savingsline")``: the role grants that permission."""
    if user.is_superuser:
        return True
    role = role_of(user)
    return role is not None and f"{action}_{model}" in ROLE_PERMISSIONS[role]


def require(user, action: str, model: str) -> None:
    if not can(user, action, model):
        raise PermissionDenied(f"Your role may not {action} {model} records.")


def scope(queryset: QuerySet, user, authority_path: str = "plan__authority") -> QuerySet:
    """Restrict ``queryset`` to what the user may read: their authority's records and those of
    any authority an administrator granted them (nothing at all without an authority)."""
    if user.is_superuser:
        return queryset
    if _reads_nothing(user):
        return queryset.none()
    # One query: the grants are a subquery, not a list fetched first.
    granted = user.granted_authorities.values("pk")
    return queryset.filter(
        Q(**{authority_path: user.authority_id}) | Q(**{f"{authority_path}__in": granted})
    )


def _reads_nothing(user) -> bool:
    """A user outside every scope: not signed in, or with no authority or no role."""
    return not user.is_authenticated or user.authority_id is None or role_of(user) is None


def may_read(user, authority_id) -> bool:
    """``scope`` for one record whose authority is known: the same rule (the user's own
    authority, or one an administrator granted them; nothing without an authority and a
    role), asked of one authority rather than put to the database as a filter. A grant is
    looked up only for another authority's record."""
    if user.is_superuser:
        return True
    if _reads_nothing(user):
        return False
    if authority_id == user.authority_id:
        return True
    return user.granted_authorities.filter(pk=authority_id).exists()


def may_write(user, plan) -> bool:
    """Writes are for the plan's own authority only; a grant lets other users read."""
    if user.is_superuser:
        return True
    return user.authority_id is not None and plan.authority_id == user.authority_id


def sees_unpublished(user) -> bool:
    """Whether the user may read live figures (a month not yet published): finance managers,
    directors and administrators; never scrutiny members."""
    return can(user, "view", "unpublished")


def reads_published_only(user) -> bool:
    """A reader of published reports and nothing live: a scrutiny member."""
    return can(user, "view", "publishedreport") and not sees_unpublished(user)


def edit_flags(user, plan=None) -> dict[str, bool]:
    """What templates may offer: editing (finance) and commentary (finance, director), and on
    a plan only when it is the user's own authority's."""
    role = role_of(user)
    writable = plan is None or may_write(user, plan)
    return {
        "can_edit": writable and (role == FINANCE or user.is_superuser),
        "can_comment": writable and (role in {FINANCE, DIRECTOR} or user.is_superuser),
    }
