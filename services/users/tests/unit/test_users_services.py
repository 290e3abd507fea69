"""The use cases against in-memory fakes: registration, login, profile, admin bootstrap."""

from __future__ import annotations

import uuid

import pytest

from bazaar_users.domain import (
    ADMIN_ROLE,
    EmailTaken,
    InvalidCredentials,
    InvalidPassword,
    UserNotFound,
)
from bazaar_users.services import UserService
from chassis import TokenVerifier, Unauthorized

PASSWORD = "correct horse battery"


async def test_register_stores_a_hashed_password_and_no_roles(
    service: UserService, store, clock
) -> None:
    user = await service.register("  Alice@Example.com ", PASSWORD)

    assert user.email == "Alice@Example.com"  # as given, trimmed
    assert user.roles == frozenset()
    assert user.created_at == clock.now
    stored = store.rows[user.user_id]
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


@pytest.mark.parametrize("password", ["x" * 11, "", "y" * 257])
async def test_register_refuses_a_password_of_the_wrong_length(
    service: UserService, store, password: str
) -> None:
    with pytest.raises(InvalidPassword):
        await service.register("bob@example.com", password)
    assert store.rows == {}


@pytest.mark.parametrize("password", ["x" * 12, "y" * 256])
async def test_register_accepts_the_boundary_lengths(service: UserService, password: str) -> None:
    user = await service.register("bob@example.com", password)
    assert user.email == "bob@example.com"


async def test_duplicate_email_in_another_case_is_taken(service: UserService, store) -> None:
    first = await service.register("carol@example.com", PASSWORD)

    with pytest.raises(EmailTaken):
        await service.register("CAROL@EXAMPLE.COM", "another password!")
    assert list(store.rows) == [first.user_id]


async def test_login_issues_a_token_that_verifies_with_the_users_roles(
    service: UserService, verifier: TokenVerifier
) -> None:
    user = await service.register("dave@example.com", PASSWORD)

    token = await service.login("DAVE@example.com", PASSWORD)

    assert token.expires_in == 900
    principal = await verifier.verify(token.token)
    assert principal.user_id == user.user_id
    assert principal.roles == frozenset()


async def test_wrong_password_and_unknown_email_fail_alike(service: UserService) -> None:
    await service.register("erin@example.com", PASSWORD)

    with pytest.raises(InvalidCredentials) as wrong_password:
        await service.login("erin@example.com", "not the password")
    with pytest.raises(InvalidCredentials) as unknown_email:
        await service.login("nobody@example.com", PASSWORD)
    assert str(wrong_password.value) == str(unknown_email.value)


async def test_login_upgrades_an_outdated_hash(service: UserService, make_service, store) -> None:
    user = await service.register("frank@example.com", PASSWORD)
    old_hash = store.rows[user.user_id].password_hash
    stronger = make_service(time_cost=2)

    await stronger.login("frank@example.com", PASSWORD)

    new_hash = store.rows[user.user_id].password_hash
    assert new_hash != old_hash
    assert "t=2" in new_hash
    # ...and the upgraded hash still logs in.
    await stronger.login("frank@example.com", PASSWORD)


async def test_login_leaves_a_current_hash_alone(service: UserService, store) -> None:
    user = await service.register("gina@example.com", PASSWORD)
    commits = store.commits
    before = store.rows[user.user_id].password_hash

    await service.login("gina@example.com", PASSWORD)

    assert store.rows[user.user_id].password_hash == before
    assert store.commits == commits + 1  # only the read


async def test_profile_is_your_own(service: UserService) -> None:
    user = await service.register("hank@example.com", PASSWORD)
    assert (await service.profile(user.user_id, user.user_id)).email == "hank@example.com"


async def test_someone_elses_profile_looks_like_a_missing_one(service: UserService) -> None:
    alice = await service.register("ida@example.com", PASSWORD)
    bob = await service.register("jack@example.com", PASSWORD)
    stranger = uuid.uuid4()

    with pytest.raises(UserNotFound) as other:
        await service.profile(alice.user_id, bob.user_id)
    with pytest.raises(UserNotFound) as missing:
        await service.profile(stranger, stranger)
    assert str(other.value) == str(missing.value)


async def test_ensure_admin_creates_the_account_once(
    service: UserService, verifier: TokenVerifier, store
) -> None:
    first = await service.ensure_admin("admin@bazaar.local", "admin password 1")
    again = await service.ensure_admin("ADMIN@bazaar.local", "a different password")

    assert first.user_id == again.user_id
    assert list(store.rows) == [first.user_id]
    assert first.roles == frozenset({ADMIN_ROLE})
    # The second call did not reset the password.
    principal = await verifier.verify(
        (await service.login("admin@bazaar.local", "admin password 1")).token
    )
    assert principal.roles == frozenset({ADMIN_ROLE})
    with pytest.raises(InvalidCredentials):
        await service.login("admin@bazaar.local", "a different password")


async def test_ensure_admin_grants_the_role_to_an_existing_account(
    service: UserService, store, clock
) -> None:
    user = await service.register("kim@example.com", PASSWORD)
    clock.advance(60)

    admin = await service.ensure_admin("kim@example.com", "some other password")

    assert admin.user_id == user.user_id
    stored = store.rows[user.user_id]
    assert stored.roles == frozenset({ADMIN_ROLE})
    assert stored.updated_at == clock.now
    assert stored.password_hash == user.password_hash  # password untouched
    await service.login("kim@example.com", PASSWORD)


async def test_ensure_admin_refuses_a_short_password(service: UserService, store) -> None:
    with pytest.raises(InvalidPassword):
        await service.ensure_admin("admin@bazaar.local", "short")
    assert store.rows == {}


async def test_a_tampered_token_is_refused(service: UserService, verifier: TokenVerifier) -> None:
    await service.register("lee@example.com", PASSWORD)
    token = (await service.login("lee@example.com", PASSWORD)).token
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"

    with pytest.raises(Unauthorized):
        await verifier.verify(forged)
