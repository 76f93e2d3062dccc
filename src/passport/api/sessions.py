"""`Session` and `Permission`: what applications ask, server to server, with HTTP Basic."""

from __future__ import annotations

from typing import Any

from passport.api.account import identity_data, iso
from passport.api.context import RequestContext
from passport.api.errors import ArgumentMissing, NotFound, NotLoggedIn
from passport.api.guard import Guard
from passport.api.registry import Controller, api_method
from passport.identity.audit import Actor
from passport.identity.groups import check_permission, has_permission
from passport.identity.login import Credentials, LoginService
from passport.identity.sessions import Session, SessionService
from passport.identity.text import check_name
from passport.storage.tables import APPLICATION_NAME_MAX


class SessionController(Controller):
    """`/Session/...`: sessions an application opens for its users with their passwords."""

    name = "Session"

    def __init__(self, *, guard: Guard, login: LoginService, sessions: SessionService) -> None:
        self.guard = guard
        self.login_service = login
        self.sessions = sessions

    @api_method("create", methods=("POST",))
    def create(
        self, context: RequestContext, username: str | None, password: str | None
    ) -> dict[str, Any]:
        """Check a user's password for the calling application and open a session."""
        application = self.guard.require_application(context)
        credentials = Credentials.check(username, password)
        actor = Actor(f"app:{application.name}", context.client_address)
        user, new = self.login_service.login(
            credentials, actor, application_id=application.id, action="session.create"
        )
        return {
            "Token": new.token,
            "User": {"ID": user.id, "Name": user.username},
            "ExpiresAt": iso(new.session),
        }

    @api_method("validate", methods=("POST",), inline=True)
    def validate(self, context: RequestContext, token: str | None) -> dict[str, Any]:
        """Whether a token names a live session of the calling application, and whose."""
        check = self.guard.check_application_token(context, token)
        if check.session is None:
            return {"Valid": False}
        return {
            "Valid": True,
            **identity_data(check.session, check.memberships),
            "ExpiresAt": iso(check.session),
        }

    @api_method("end", methods=("POST",))
    def end(self, context: RequestContext, token: str | None) -> dict[str, Any]:
        """End a session of the calling application."""
        application = self.guard.require_application(context)
        if not token:
            raise ArgumentMissing("Token must be specified.", source="token")
        session = self.sessions.end(token, application_id=application.id)
        if session is not None:
            self.login_service.audit.record(
                Actor(f"app:{application.name}", context.client_address),
                "session.end",
                f"user:{session.username}",
                success=True,
            )
        return {"Ended": session is not None}


class PermissionController(Controller):
    """`/Permission/check`: may this session's user do this?"""

    name = "Permission"

    def __init__(self, *, guard: Guard) -> None:
        self.guard = guard

    @api_method("check", methods=("GET", "POST"), read_only=True, inline=True)
    def check(
        self,
        context: RequestContext,
        permission: str | None,
        token: str | None,
        application: str | None,
    ) -> dict[str, Any]:
        """With a token (and Basic credentials): in the calling application. With the
        session cookie: in the application named by `application`."""
        if permission is None or not permission.strip():
            raise ArgumentMissing("Permission must be specified.", source="permission")
        checked = check_permission(permission)
        session: Session | None
        if token is not None:
            app = self.guard.require_application(context)
            session = self.guard.validate_token(context, token, app.id)
            if session is None:
                raise NotLoggedIn("Token is not a live session.", source="token")
            application_id = app.id
        else:
            session = self.guard.require_session(context)
            name = check_name(
                application or "",
                field="application",
                label="Application",
                max_length=APPLICATION_NAME_MAX,
            )
            found = self.guard.applications.find_by_name(name, context.connection())
            if found is None:
                raise NotFound(
                    f"Could not find application '{name}'.", source="application", value=name
                )
            application_id = found.id
        with self.guard.reads(context) as connection:
            allowed = has_permission(connection, session.user_id, application_id, checked)
        return {"Allowed": allowed}
