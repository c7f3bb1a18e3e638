import re

from recovery.access import edit_flags, role_of


def user_label(user, role: str | None) -> str:
    """The navbar's name for the user: their name, then their role and authority unless the
    name already says them, as whole words ("Director (Telford & Wrekin Council)" is not
    followed by "· Director · Telford & Wrekin Council"; "Bathsheba" still gets "· Bath")."""
    name = user.get_full_name() or user.username
    parts = [name]
    authority = user.authority.name if user.authority_id else ""
    for said in (role.capitalize() if role else "", authority):
        if said and not re.search(rf"(?<!\w){re.escape(said)}(?!\w)", name, re.IGNORECASE):
            parts.append(said)
    return " · ".join(parts)


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_role": None, "can_edit": False, "can_comment": False}
    role = role_of(user)
    return {"user_role": role, "user_label": user_label(user, role), **edit_flags(user)}
