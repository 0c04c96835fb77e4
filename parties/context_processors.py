from .permissions import roles_of


def roles(request):
    """Expose the signed-in user's roles to the navigation (lazily)."""
    user = getattr(request, "user", None)
    return {"user_roles": (lambda: roles_of(user))}
