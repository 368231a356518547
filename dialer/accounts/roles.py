"""Roles and what each may do. Routes name the one permission they need (the console's route
table, dialer.web.access); this table says which roles hold it. docs/accounts.md shows both."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # everything, accounts included
    SUPERVISOR = "supervisor"  # campaigns, agents' presence, the audit trail
    OPERATOR = "operator"  # campaigns
    AGENT = "agent"  # their own screen, calls and callbacks; customers' numbers masked
    VIEWER = "viewer"  # read-only, customers' numbers masked


class Permission(StrEnum):
    OWN = "own"  # their own account: /api/me, their password and API tokens, sign out
    READ = "campaigns.read"  # campaigns, their status and rows
    CHANGE = "campaigns.change"  # preview, upload, start, pause, resume, cancel
    DOWNLOAD = "campaigns.download"  # results sheets and reports
    METRICS = "metrics"  # the Prometheus scrape
    AUDIT = "audit.read"  # the audit trail
    USERS = "users.manage"  # accounts: add, disable, enable, reset
    NUMBERS = "numbers.whole"  # customers' numbers unmasked
    AGENT = "agent.own"  # an agent's own screen, presence, calls and callbacks
    AGENTS = "agents.manage"  # every agent: the wall, their presence, their calls' dispositions


_CAMPAIGNS = {
    Permission.OWN,
    Permission.READ,
    Permission.CHANGE,
    Permission.DOWNLOAD,
    Permission.METRICS,
    Permission.NUMBERS,
}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.SUPERVISOR: frozenset(
        _CAMPAIGNS | {Permission.AUDIT, Permission.AGENT, Permission.AGENTS}
    ),
    Role.OPERATOR: frozenset(_CAMPAIGNS),
    Role.AGENT: frozenset({Permission.OWN, Permission.AGENT}),
    Role.VIEWER: frozenset({Permission.OWN, Permission.READ, Permission.DOWNLOAD}),
}


def allows(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]


def sees_whole_numbers(role: Role) -> bool:
    """False: every customer number this role is shown is masked (1391814****)."""
    return allows(role, Permission.NUMBERS)
