from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from recovery.models import Authority, User


@admin.register(Authority)
class AuthorityAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "child_population"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "get_full_name", "authority", "is_staff", "is_superuser"]
    list_filter = ["authority", "groups", "is_staff", "is_superuser"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        ("Authority", {"fields": ["authority", "granted_authorities"]}),
    ]
    filter_horizontal = [*BaseUserAdmin.filter_horizontal, "granted_authorities"]
    add_fieldsets = [*BaseUserAdmin.add_fieldsets, ("Authority", {"fields": ["authority"]})]
