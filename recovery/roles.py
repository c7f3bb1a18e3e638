"""Create the role groups with their permissions (idempotent)."""

from django.contrib.auth.models import Group, Permission

from recovery.access import ROLE_PERMISSIONS


def ensure_groups() -> dict[str, Group]:
    groups = {}
    perms = {p.codename: p for p in Permission.objects.filter(content_type__app_label="plans")}
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = {perms[c] for c in codenames if c in perms}
        if set(group.permissions.all()) != wanted:
            group.permissions.set(wanted)
        groups[role] = group
    return groups
