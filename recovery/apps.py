from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


def _create_groups(sender, **kwargs):
    from recovery.roles import ensure_groups

    ensure_groups()


class RecoveryConfig(AppConfig):
    default = True
    name = "recovery"
    verbose_name = "Accounts and authorities"

    def ready(self):
        # After every migrate the finance, director and scrutiny groups exist with their
        # permissions; the plans app's permissions are created by its own post_migrate first.
        post_migrate.connect(_create_groups, sender=self, dispatch_uid="recovery_groups")
        from django.contrib.auth.signals import user_logged_in

        from recovery.middleware import stamp_sign_in

        # The session's clocks start at sign-in, saved with it: not a second save at the
        # first page.
        user_logged_in.connect(stamp_sign_in, dispatch_uid="recovery_sign_in_clocks")


class AdministratorsAdminConfig(admin_apps.AdminConfig):
    """The Django admin, for administrators only and with a second factor (see
    ``recovery.admin_site``)."""

    default = False
    default_site = "recovery.admin_site.AdministratorsAdminSite"
