"""`Admin`: users, applications, groups, grants and the audit log, for `passport:admin`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from passport.api.account import actor_of
from passport.api.context import RequestContext
from passport.api.errors import ArgumentInvalid, ArgumentMissing
from passport.api.guard import ADMIN_PERMISSION, Guard
from passport.api.registry import Controller, api_method
from passport.identity.applications import (
    PASSPORT_APPLICATION,
    Application,
    ApplicationService,
    check_application_name,
)
from passport.identity.audit import AuditLog
from passport.identity.groups import GroupService
from passport.identity.users import UserService

_SEPARATORS = re.compile(r"[\s,]+")


def split_origins(origins: str | None) -> list[str]:
    """Origins given as one string, separated by commas or spaces."""
    return [origin for origin in _SEPARATORS.split(origins or "") if origin]


def parse_since(since: str | None) -> datetime | None:
    """An ISO 8601 time (UTC if no zone) as naive UTC, or None."""
    if since is None or not since.strip():
        return None
    try:
        value = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ArgumentInvalid(
            "Since must be an ISO 8601 time such as 2026-01-31T12:00:00Z.",
            source="since",
            value=since,
        ) from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def application_data(application: Application) -> dict[str, Any]:
    """An application as the API shows it."""
    return {"ID": application.id, "Name": application.name, "Origins": list(application.origins)}


class AdminController(Controller):
    """`/Admin/...`: every method needs the permission `passport:admin`."""

    name = "Admin"

    def __init__(
        self,
        *,
        guard: Guard,
        users: UserService,
        applications: ApplicationService,
        groups: GroupService,
        audit: AuditLog,
    ) -> None:
        self.guard = guard
        self.users = users
        self.applications = applications
        self.groups = groups
        self.audit = audit

    # Users ------------------------------------------------------------------------

    @api_method("createUser", methods=("POST",))
    def create_user(
        self,
        context: RequestContext,
        username: str | None,
        password: str | None,
        email: str | None,
        display_name: str | None,
        admin: bool | None,
    ) -> dict[str, Any]:
        """Create a user (with `admin`, holding `passport:admin`)."""
        self.guard.require_admin(context)
        actor = actor_of(context)
        user = self.users.create(
            username, password or None, actor, email=email, display_name=display_name
        )
        if admin:
            self.groups.grant(ADMIN_PERMISSION, PASSPORT_APPLICATION, actor, user=user)
        return {"User": user.as_wire()}

    @api_method("listUsers", methods=("GET",), read_only=True)
    def list_users(
        self, context: RequestContext, offset: int | None, limit: int | None
    ) -> dict[str, Any]:
        """One page of users, by ID (`limit` at most 500)."""
        self.guard.require_admin(context)
        users, total = self.users.page(offset=offset or 0, limit=limit or 50)
        return {"Users": [user.as_wire() for user in users], "Total": total}

    @api_method("lockUser", methods=("POST",))
    def lock_user(self, context: RequestContext, username: str | None) -> dict[str, Any]:
        """Lock a user: every session ends, logins fail, their keys validate as Invalid."""
        self.guard.require_admin(context)
        return {"User": self.users.set_locked(username, True, actor_of(context)).as_wire()}

    @api_method("unlockUser", methods=("POST",))
    def unlock_user(self, context: RequestContext, username: str | None) -> dict[str, Any]:
        """Unlock a user (and clear a brute-force lockout)."""
        self.guard.require_admin(context)
        return {"User": self.users.set_locked(username, False, actor_of(context)).as_wire()}

    @api_method("resetPassword", methods=("POST",))
    def reset_password(self, context: RequestContext, username: str | None) -> dict[str, Any]:
        """A one-time token the user redeems at `Account/resetPassword` within an hour."""
        self.guard.require_admin(context)
        user, token, expires = self.users.create_reset_token(username, actor_of(context))
        return {
            "User": {"ID": user.id, "Name": user.username},
            "Token": token,
            "ExpiresAt": expires.isoformat(timespec="seconds") + "Z",
        }

    # Applications -----------------------------------------------------------------

    @api_method("createApplication", methods=("POST",))
    def create_application(
        self, context: RequestContext, name: str | None, origins: str | None
    ) -> dict[str, Any]:
        """Create an application; its client secret is in this answer and never again."""
        self.guard.require_admin(context)
        new = self.applications.add(check_application_name(name), split_origins(origins))
        self.audit.record(
            actor_of(context),
            "application.create",
            f"application:{new.application.name}",
            success=True,
        )
        return {"Application": application_data(new.application), "Secret": new.secret}

    @api_method("listApplications", methods=("GET",), read_only=True)
    def list_applications(self, context: RequestContext) -> dict[str, Any]:
        """Every application with its origins."""
        self.guard.require_admin(context)
        return {"Applications": [application_data(a) for a in self.applications.all()]}

    @api_method("rotateSecret", methods=("POST",))
    def rotate_secret(self, context: RequestContext, name: str | None) -> dict[str, Any]:
        """A new client secret; the old one stops working at once."""
        self.guard.require_admin(context)
        new = self.applications.rotate_secret(check_application_name(name))
        self.audit.record(
            actor_of(context),
            "application.rotate_secret",
            f"application:{new.application.name}",
            success=True,
        )
        return {"Application": application_data(new.application), "Secret": new.secret}

    @api_method("setOrigins", methods=("POST",))
    def set_origins(
        self, context: RequestContext, name: str | None, origins: str | None
    ) -> dict[str, Any]:
        """Replace an application's registered origins (CORS with credentials, CSRF)."""
        self.guard.require_admin(context)
        application = self.applications.set_origins(
            check_application_name(name), split_origins(origins)
        )
        self.audit.record(
            actor_of(context),
            "application.set_origins",
            f"application:{application.name}",
            success=True,
            detail=" ".join(application.origins),
        )
        return {"Application": application_data(application)}

    # Groups and grants --------------------------------------------------------------

    @api_method("createGroup", methods=("POST",))
    def create_group(
        self, context: RequestContext, name: str | None, application: str | None
    ) -> dict[str, Any]:
        """Create a group, global or (with `application`) belonging to one application."""
        self.guard.require_admin(context)
        group = self.groups.create(name, application, actor_of(context))
        return {"Group": {"ID": group.id, "Name": group.name, "Application": group.application}}

    @api_method("deleteGroup", methods=("POST",))
    def delete_group(
        self, context: RequestContext, name: str | None, application: str | None
    ) -> dict[str, Any]:
        """Delete a group with its memberships and grants."""
        self.guard.require_admin(context)
        group = self.groups.find(name, application)
        self.groups.delete(group, actor_of(context))
        return {"Deleted": group.label}

    @api_method("addMember", methods=("POST",))
    def add_member(
        self,
        context: RequestContext,
        group: str | None,
        application: str | None,
        username: str | None,
    ) -> dict[str, Any]:
        """Add a user to a group."""
        self.guard.require_admin(context)
        found = self.groups.find(group, application)
        user = self.users.get(username)
        added = self.groups.add_member(found, user, actor_of(context))
        return {"Group": found.label, "User": user.username, "Added": added}

    @api_method("removeMember", methods=("POST",))
    def remove_member(
        self,
        context: RequestContext,
        group: str | None,
        application: str | None,
        username: str | None,
    ) -> dict[str, Any]:
        """Remove a user from a group."""
        self.guard.require_admin(context)
        found = self.groups.find(group, application)
        user = self.users.get(username)
        removed = self.groups.remove_member(found, user, actor_of(context))
        return {"Group": found.label, "User": user.username, "Removed": removed}

    def _subject(
        self, group: str | None, group_application: str | None, username: str | None
    ) -> dict[str, Any]:
        if group and username:
            raise ArgumentInvalid("Give either group or username, not both.", source="group")
        if group:
            return {"group": self.groups.find(group, group_application)}
        if username:
            return {"user": self.users.get(username)}
        raise ArgumentMissing("Give a group or a username.", source="group")

    @api_method("grant", methods=("POST",))
    def grant(
        self,
        context: RequestContext,
        permission: str | None,
        application: str | None,
        group: str | None,
        group_application: str | None,
        username: str | None,
    ) -> dict[str, Any]:
        """Grant an application's permission to a group or a user."""
        self.guard.require_admin(context)
        subject = self._subject(group, group_application, username)
        added = self.groups.grant(permission, application, actor_of(context), **subject)
        return {"Granted": added}

    @api_method("revoke", methods=("POST",))
    def revoke(
        self,
        context: RequestContext,
        permission: str | None,
        application: str | None,
        group: str | None,
        group_application: str | None,
        username: str | None,
    ) -> dict[str, Any]:
        """Take a grant back."""
        self.guard.require_admin(context)
        subject = self._subject(group, group_application, username)
        removed = self.groups.revoke(permission, application, actor_of(context), **subject)
        return {"Revoked": removed}

    @api_method("listGrants", methods=("GET",), read_only=True)
    def list_grants(self, context: RequestContext, application: str | None) -> dict[str, Any]:
        """Every grant, or those of one application."""
        self.guard.require_admin(context)
        return {"Grants": [grant.as_wire() for grant in self.groups.grants(application)]}

    # Audit -----------------------------------------------------------------------------

    @api_method("auditLog", methods=("GET",), read_only=True)
    def audit_log(
        self, context: RequestContext, since: str | None, limit: int | None
    ) -> dict[str, Any]:
        """Audit events from `since` on (ISO 8601), oldest first, at most `limit` (1000)."""
        self.guard.require_admin(context)
        events = self.audit.events(since=parse_since(since), limit=limit or 100)
        return {
            "Events": [
                {
                    "At": event.at.isoformat(timespec="milliseconds") + "Z",
                    "Actor": event.actor,
                    "Action": event.action,
                    "Target": event.target,
                    "ClientAddress": event.client_address,
                    "Result": "success" if event.success else "failure",
                    "Detail": event.detail,
                }
                for event in events
            ]
        }
