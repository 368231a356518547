"""The accounts package's pure parts: secrets as scrypt hashes, the roles table, --since."""

from __future__ import annotations

import pytest

from dialer.accounts.audit import parse_since
from dialer.accounts.directory import check_name, check_phone, check_role
from dialer.accounts.hashing import hash_secret, verify_secret
from dialer.accounts.roles import GRANTS, Permission, Role, allows, sees_whole_numbers
from dialer.errors import AccountError


def test_a_secret_is_kept_as_a_salted_scrypt_hash_and_checked_against_it() -> None:
    stored = hash_secret("grey-Heron-7734")
    assert stored.startswith("scrypt$16384$8$1$") and "grey-Heron-7734" not in stored
    assert hash_secret("grey-Heron-7734") != stored  # a salt of its own
    assert verify_secret("grey-Heron-7734", stored)
    assert not verify_secret("grey-heron-7734", stored)
    for broken in ("", "plain", "md5$1$2$3$4$5", stored.replace("$8$", "$x$")):
        assert not verify_secret("grey-Heron-7734", broken)


def test_each_role_holds_its_part_only() -> None:
    assert set(GRANTS) == set(Role) and GRANTS[Role.ADMIN] == frozenset(Permission)
    assert all(allows(role, Permission.OWN) for role in Role)
    changers = {r for r in Role if allows(r, Permission.CHANGE)}
    assert changers == {Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR}
    assert {r for r in Role if allows(r, Permission.USERS)} == {Role.ADMIN}
    assert {r for r in Role if allows(r, Permission.AUDIT)} == {Role.ADMIN, Role.SUPERVISOR}
    assert {r for r in Role if not sees_whole_numbers(r)} == {Role.AGENT, Role.VIEWER}
    assert GRANTS[Role.AGENT] == {Permission.OWN, Permission.AGENT}


def test_names_roles_and_phones_are_checked_with_a_reason() -> None:
    assert check_name("li-wei_2") == "li-wei_2" and check_role("viewer") is Role.VIEWER
    assert check_phone("138 0000 0009") == "13800000009" and check_phone("") == ""
    for bad in ("Li", "9lives", "a.b", "x" * 33, "web-token", ""):
        with pytest.raises(AccountError, match="account name"):
            check_name(bad)
    with pytest.raises(AccountError, match="must be one of admin, supervisor"):
        check_role("root")
    with pytest.raises(AccountError, match="phone"):
        check_phone("12345")


def test_since_is_an_age_or_a_utc_date() -> None:
    now = 1_764_800_000_000
    assert parse_since("30m", now) == now - 30 * 60_000
    assert parse_since("7d", now) == now - 7 * 86_400_000
    assert parse_since("2026-12-01", now) == 1_796_083_200_000
    assert parse_since("2026-12-01T09:30+08:00", now) == 1_796_088_600_000  # 01:30 UTC
    with pytest.raises(ValueError, match="neither an age"):
        parse_since("last tuesday", now)
