"""Who a user is, as named predicates that views, templates and tests share.

A user's active memberships are read once per request and cached on the user
object, so that checking several predicates costs one query."""

from __future__ import annotations

from dataclasses import dataclass

import rules
from django.db import connection

from .models import Membership

Role = Membership.Role


@dataclass(frozen=True)
class Roles:
    secretariat: bool
    # state id → set of roles the user holds for that State
    by_state: dict[int, frozenset[str]]

    def states_with(self, *roles: str) -> set[int]:
        return {state for state, held in self.by_state.items() if held.intersection(roles)}

    @property
    def is_focal_point(self) -> bool:
        return bool(self.states_with(Membership.Role.FOCAL_POINT))

    def has(self, state_id: int | None, *roles: str) -> bool:
        return state_id is not None and bool(self.by_state.get(state_id, frozenset()).intersection(roles))


NO_ROLES = Roles(secretariat=False, by_state={})


def roles_of(user) -> Roles:
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_ROLES
    cached = getattr(user, "_roles_cache", None)
    if cached is not None:
        return cached
    # Read on every request, autosave included: one line of SQL costs a tenth of
    # building the same query with the ORM (measured: 0.04 vs 0.42 ms). The user of
    # a request usually has them already (roles_prime, by the authentication backend).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT state_id, role FROM {Membership._meta.db_table} WHERE user_id = %s AND is_active", [user.pk])
        rows = cursor.fetchall()
    return roles_prime(user, rows)


def roles_prime(user, rows) -> Roles:
    """Keep on ``user`` the roles of its active memberships, given as
    ``(state_id, role)`` rows (read in the same statement as the user, for one)."""
    by_state: dict[int, set[str]] = {}
    secretariat = False
    for state_id, role in rows:
        if role == Role.SECRETARIAT:
            secretariat = True
        else:
            by_state.setdefault(state_id, set()).add(role)
    roles = Roles(secretariat=secretariat, by_state={k: frozenset(v) for k, v in by_state.items()})
    user._roles_cache = roles
    return roles


# roles_of's query, as a LEFT JOIN onto the user's row (config.auth reads both at once).
MEMBERSHIP_JOIN = (
    f"LEFT JOIN {Membership._meta.db_table} m ON m.user_id = u.id AND m.is_active",
    ("m.state_id", "m.role"),
)


@rules.predicate
def is_secretariat(user) -> bool:
    return roles_of(user).secretariat


@rules.predicate
def is_focal_point_somewhere(user) -> bool:
    return bool(roles_of(user).states_with(Role.FOCAL_POINT))


rules.add_perm("parties.invite", is_secretariat)
# The audit log (audit/views.py) is the secretariat's; audit imports no app, so its rule lives with the roles.
rules.add_perm("audit.view_log", is_secretariat)
