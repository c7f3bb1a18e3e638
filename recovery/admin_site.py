"""The admin site: administrators (superusers) only, signed in with a second factor.

Officers never use the admin: role groups carry the app's permissions but grant no admin
access, so a "staff" finance manager still cannot list another authority's records there.
Administrators verify a one-time password (TOTP, django-otp) after their password; the first
device is enrolled with a static token from ``manage.py addstatictoken USERNAME``, then a TOTP
device is added under *OTP_TOTP* in the admin (its QR code shown there).
"""

from django.conf import settings
from django_otp.admin import OTPAdminSite


class AdministratorsAdminSite(OTPAdminSite):
    site_header = "Recovery tracker administration"
    site_title = "Recovery tracker administration"

    def __init__(self, name="admin"):
        super().__init__(name)

    def has_permission(self, request):
        user = request.user
        if not (user.is_active and user.is_superuser):
            return False
        if not settings.ADMIN_REQUIRES_OTP:
            return True
        return super().has_permission(request)
