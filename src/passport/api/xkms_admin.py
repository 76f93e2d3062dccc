"""`Xkms`: administrators issue XKMS passcodes and list key bindings (`passport:admin`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from passport.api.account import actor_of
from passport.api.context import RequestContext
from passport.api.errors import ArgumentInvalid, ArgumentMissing
from passport.api.guard import Guard
from passport.api.registry import Controller, api_method
from passport.identity.users import UserService
from passport.storage.database import Database
from passport.xkms.bindings import BindingStore, StoredBinding
from passport.xkms.messages import format_datetime
from passport.xkms.passcodes import PasscodeService, UseKeyWith

MAX_USES = 1000
MAX_EXPIRY_MINUTES = 365 * 24 * 60


def binding_data(binding: StoredBinding) -> dict[str, Any]:
    """A key binding as the API shows it."""
    return {
        "Id": binding.binding_id,
        "User": binding.username,
        "KeyFingerprint": binding.key_fingerprint,
        "KeyName": binding.key_name,
        "KeyUsage": [usage.rsplit("#", 1)[-1] for usage in binding.key_usages],
        "UseKeyWith": [
            {"Application": p.application, "Identifier": p.identifier} for p in binding.use_key_with
        ],
        "NotBefore": format_datetime(binding.not_before),
        "NotOnOrAfter": None if binding.not_after is None else format_datetime(binding.not_after),
        "RevokedAt": None if binding.revoked_at is None else format_datetime(binding.revoked_at),
        "CreatedAt": format_datetime(binding.created_at),
    }


class XkmsController(Controller):
    """`/Xkms/...`."""

    name = "Xkms"

    def __init__(
        self,
        *,
        database: Database,
        guard: Guard,
        users: UserService,
        passcodes: PasscodeService,
    ) -> None:
        self.database = database
        self.guard = guard
        self.users = users
        self.passcodes = passcodes
        self.store = BindingStore()

    @api_method("authorize", methods=("POST",))
    def authorize(
        self,
        context: RequestContext,
        username: str | None,
        use_key_with: str | None,
        passcode: str | None,
        uses: int | None,
        expires_minutes: int | None,
    ) -> dict[str, Any]:
        """A limited-use passcode letting the user register keys for these UseKeyWith pairs
        (`useKeyWith`: one `URI=IDENTIFIER` per line). The passcode is in this answer only."""
        self.guard.require_admin(context)
        user = self.users.get(username)
        if not use_key_with or not use_key_with.strip():
            raise ArgumentMissing(
                "UseKeyWith must be given, one URI=IDENTIFIER per line.", source="useKeyWith"
            )
        pairs = [
            UseKeyWith.parse(line.strip()) for line in use_key_with.splitlines() if line.strip()
        ]
        if uses is not None and not 1 <= uses <= MAX_USES:
            raise ArgumentInvalid(f"Uses must be 1 to {MAX_USES}.", source="uses", value=str(uses))
        if expires_minutes is not None and not 1 <= expires_minutes <= MAX_EXPIRY_MINUTES:
            raise ArgumentInvalid(
                f"ExpiresMinutes must be 1 to {MAX_EXPIRY_MINUTES}.",
                source="expiresMinutes",
                value=str(expires_minutes),
            )
        issued, expires = self.passcodes.authorize(
            user,
            pairs,
            actor_of(context),
            passcode=passcode or None,
            uses=uses or 1,
            expires_in=None if expires_minutes is None else timedelta(minutes=expires_minutes),
        )
        return {
            "User": {"ID": user.id, "Name": user.username},
            "Passcode": issued,
            "Uses": uses or 1,
            "ExpiresAt": None if expires is None else format_datetime(expires),
            "UseKeyWith": [
                {"Application": p.application, "Identifier": p.identifier} for p in pairs
            ],
        }

    @api_method("keys", methods=("GET",), read_only=True)
    def keys(self, context: RequestContext, username: str | None) -> dict[str, Any]:
        """Key bindings, of one user or of everyone, revoked ones included."""
        self.guard.require_admin(context)
        user_id = self.users.get(username).id if username else None
        with self.database.read(snapshot=True) as connection:
            bindings = self.store.for_user(connection, user_id)
        return {"KeyBindings": [binding_data(b) for b in bindings]}
