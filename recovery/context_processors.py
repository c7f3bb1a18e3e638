from recovery.access import role_of


def roles(request):
    user = getattr(request, "user", None)
    role = role_of(user) if user is not None and user.is_authenticated else None
    return {
        "user_role": role,
        "can_edit": role == "finance" or bool(user and user.is_superuser),
        "can_comment": role in {"finance", "director"} or bool(user and user.is_superuser),
    }
