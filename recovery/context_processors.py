from recovery.access import edit_flags, role_of


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_role": None, "can_edit": False, "can_comment": False}
    return {"user_role": role_of(user), **edit_flags(user)}
