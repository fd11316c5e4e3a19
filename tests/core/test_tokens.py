import datetime as dt
import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from omniguichet.core.errors import InvalidInput, NotFound
from omniguichet.core.models import ApiToken
from omniguichet.core.services import authenticate_token, issue_token, revoke_tokens


def me(secret: str):
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_valid_token_authenticates_and_is_stored_hashed(agent_paris):
    token, secret = issue_token(user=agent_paris, days=7)
    assert secret not in {token.key_hash, token.prefix}
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert not ApiToken.objects.filter(key_hash=secret).exists()
    response = me(secret)
    assert response.status_code == 200
    assert response.json() == {
        "username": "agent-paris",
        "role": "reception_agent",
        "caisse": "751",
        "national": False,
    }
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_token_is_refused(agent_paris):
    token, secret = issue_token(user=agent_paris)
    assert revoke_tokens(prefix=token.prefix) == 1
    assert authenticate_token(secret) is None
    assert me(secret).status_code == 401


def test_expired_token_is_refused(agent_paris):
    token, secret = issue_token(user=agent_paris, days=1)
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=timezone.now() - dt.timedelta(days=3), expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert authenticate_token(secret) is None
    response = me(secret)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer og_wrong", "Bearer ", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "og_no_scheme"]
)
def test_wrong_or_malformed_tokens_are_refused(agent_paris, header):
    issue_token(user=agent_paris)
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_token_of_a_deactivated_user_is_refused(agent_paris):
    _token, secret = issue_token(user=agent_paris)
    agent_paris.is_active = False
    agent_paris.save()
    assert me(secret).status_code == 401


def test_token_lifetime_is_bounded(agent_paris):
    with pytest.raises(InvalidInput):
        issue_token(user=agent_paris, days=0)
    with pytest.raises(InvalidInput):
        issue_token(user=agent_paris, days=367)


def test_revoking_all_tokens_of_a_user(agent_paris, agent_ain):
    secrets = [issue_token(user=agent_paris)[1] for _ in range(2)]
    _, other = issue_token(user=agent_ain)
    assert revoke_tokens(user=agent_paris) == 2
    assert all(authenticate_token(s) is None for s in secrets)
    assert authenticate_token(other) == agent_ain
    with pytest.raises(NotFound):
        revoke_tokens(prefix="og_nothere")


def test_token_command_prints_a_working_token_and_revokes_it(agent_paris):
    out, err = io.StringIO(), io.StringIO()
    call_command("token", "--user", "agent-paris", "--days", "2", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    assert secret.startswith("og_")
    assert me(secret).status_code == 200
    assert "expires" in err.getvalue()
    call_command("token", "--user", "agent-paris", "--revoke", secret[:10], stdout=io.StringIO())
    assert me(secret).status_code == 401


def test_token_command_refuses_unknown_user(db):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("token", "--user", "ghost")
