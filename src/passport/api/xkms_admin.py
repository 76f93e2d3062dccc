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
from passport.xkms.pending import PendingEntry
from passport.xkms.service import XkmsService

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
        xkms: XkmsService,
    ) -> None:
        self.database = database
        self.guard = guard
        self.users = users
        self.xkms = xkms
        self.passcodes: PasscodeService = xkms.passcodes
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

    @api_method("pending", methods=("GET",), read_only=True)
    def pending(self, context: RequestContext, all_requests: bool | None) -> dict[str, Any]:
        """Requests waiting for an administrator (with `allRequests`, decided ones too)."""
        self.guard.require_admin(context)
        entries = self.xkms.asynchronous.entries(include_decided=bool(all_requests))
        return {"Pending": [pending_data(entry) for entry in entries]}

    @api_method("approve", methods=("POST",))
    def approve(self, context: RequestContext, number: int | None) -> dict[str, Any]:
        """Approve a waiting request: it is processed now."""
        return self._decide(context, number, approve=True)

    @api_method("reject", methods=("POST",))
    def reject(self, context: RequestContext, number: int | None) -> dict[str, Any]:
        """Reject a waiting request: its client gets Sender/Refused."""
        return self._decide(context, number, approve=False)

    def _decide(
        self, context: RequestContext, number: int | None, *, approve: bool
    ) -> dict[str, Any]:
        self.guard.require_admin(context)
        if number is None:
            raise ArgumentMissing("Number must be specified.", source="number")
        entry = self.xkms.decide(number, approve=approve, actor=actor_of(context))
        return {"Request": pending_data(entry)}


def pending_data(entry: PendingEntry) -> dict[str, Any]:
    """A deferred request as the API shows it."""
    return {
        "Number": entry.id,
        "ResponseId": entry.response_id,
        "Operation": entry.operation,
        "RequestId": entry.request_id,
        "ClientAddress": entry.client_address,
        "State": entry.state,
        "CreatedAt": format_datetime(entry.created_at),
        "DecidedAt": None if entry.decided_at is None else format_datetime(entry.decided_at),
        "DecidedBy": entry.decided_by,
        "Notification": entry.notification,
    }
