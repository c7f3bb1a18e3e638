"""The sign-in backend: Django's ModelBackend, whose user for each request is read with the
role (``recovery.access.role_of``) in the same query, rather than the role's groups in a query
of their own on every page. The role is still read from the database on every request: a
change of groups is seen on the next page, in every process."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from recovery.access import ROLE_ANNOTATION, remember_role, role_subquery


class RoleModelBackend(ModelBackend):
    def get_user(self, user_id):
        users = get_user_model()._default_manager.annotate(**{ROLE_ANNOTATION: role_subquery()})
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        remember_role(user, getattr(user, ROLE_ANNOTATION))
        return user if self.user_can_authenticate(user) else None
