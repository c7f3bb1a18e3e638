"""The sign-in backend: Django's ModelBackend, whose user for each request is read with the
role (``recovery.access.role_of``) in the same query, rather than the role's groups in a query
of their own on every page. The role is still read from the database on every request: a
change of groups is seen on the next page, in every process."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from recovery.access import ROLES, remember_role

# The user's row and, beside it, the first of ROLES among their groups (NULL for none): the
# query every signed-in page runs, written once here rather than compiled by the ORM on each
# request (which cost more than the query).
_USER_WITH_ROLE = """
SELECT u.*, (
    SELECT g.name FROM {group} g JOIN {membership} m ON m.group_id = g.id
    WHERE m.user_id = u.id AND g.name IN ({roles})
    ORDER BY CASE g.name {ranks} END LIMIT 1
) AS recovery_role_name
FROM {user} u WHERE u.id = %s
"""


def _user_with_role_sql() -> str:
    user = get_user_model()
    membership = user._meta.get_field("groups").remote_field.through._meta.db_table
    return _USER_WITH_ROLE.format(
        group=Group._meta.db_table,
        membership=membership,
        user=user._meta.db_table,
        roles=", ".join(["%s"] * len(ROLES)),
        ranks=" ".join(f"WHEN %s THEN {i}" for i in range(len(ROLES))),
    )


class RoleModelBackend(ModelBackend):
    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            pk = user_model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        found = list(user_model._default_manager.raw(_user_with_role_sql(), [*ROLES, *ROLES, pk]))
        if not found:
            return None
        user = found[0]
        remember_role(user, user.recovery_role_name)
        return user if self.user_can_authenticate(user) else None
