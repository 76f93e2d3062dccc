"""`Account`: first-party browser login with the `__Host-passport` session cookie."""

from __future__ import annotations

from typing import Any

from passport.api.context import RequestContext
from passport.api.errors import NotLoggedIn, RegistrationClosed
from passport.api.guard import Guard
from passport.api.registry import Controller, api_method
from passport.identity.audit import Actor
from passport.identity.errors import Missing
from passport.identity.groups import Memberships
from passport.identity.login import Credentials, LoginService
from passport.identity.passwords import check_password_text
from passport.identity.sessions import Session
from passport.identity.users import UserService


def iso(session: Session) -> str:
    """A session's expiry as ISO 8601 UTC."""
    return session.expires_at.isoformat(timespec="seconds") + "Z"


def actor_of(context: RequestContext) -> Actor:
    """The audit actor for a request: its logged-in user, or anonymous."""
    if context.session is not None:
        return Actor(f"user:{context.session.username}", context.client_address)
    return Actor.anonymous(context.client_address)


def identity_data(session: Session, held: Memberships) -> dict[str, Any]:
    """User, groups and permissions of a session's user."""
    return {
        "User": {"ID": session.user_id, "Name": session.username},
        "Groups": held.groups,
        "Permissions": held.permissions,
    }


class AccountController(Controller):
    """`/Account/...`."""

    name = "Account"

    def __init__(
        self,
        *,
        guard: Guard,
        login: LoginService,
        users: UserService,
        self_registration: bool,
    ) -> None:
        self.guard = guard
        self.login_service = login
        self.users = users
        self.self_registration = self_registration

    @api_method("login", methods=("POST",))
    def login(
        self, context: RequestContext, username: str | None, password: str | None
    ) -> dict[str, Any]:
        """Log in: sets the session cookie (a new token every time)."""
        credentials = Credentials.check(username, password)
        previous = context.session
        user, new = self.login_service.login(
            credentials, actor_of(context), application_id=None, action="account.login"
        )
        if previous is not None:
            self.login_service.sessions.end_by_id(previous.id)
        context.session = new.session
        context.new_session_token = new.token
        return {"User": {"ID": user.id, "Name": user.username}, "ExpiresAt": iso(new.session)}

    @api_method("logout", methods=("POST",))
    def logout(self, context: RequestContext) -> dict[str, Any]:
        """End the session and clear the cookie."""
        session = context.session
        if session is not None:
            self.login_service.sessions.end_by_id(session.id)
            self.login_service.audit.record(
                actor_of(context), "account.logout", f"user:{session.username}", success=True
            )
        context.session = None
        context.end_session = True
        return {"LoggedOut": session is not None}

    @api_method("whoAmI", methods=("GET",), read_only=True, inline=True, identity=True)
    def who_am_i(self, context: RequestContext) -> dict[str, Any]:
        """The logged-in user, their groups and their permissions per application."""
        session = self.guard.require_session(context)
        held = context.memberships
        if held is None:  # an identity method: the guard read them with the session
            raise NotLoggedIn("You must be logged in.", source="session")
        return identity_data(session, held)

    @api_method("changePassword", methods=("POST",))
    def change_password(
        self, context: RequestContext, old_password: str | None, new_password: str | None
    ) -> dict[str, Any]:
        """Change the password: ends every session of the user and starts a new one here."""
        session = self.guard.require_session(context)
        if not old_password:
            raise Missing("Old password must be specified.", field="oldPassword")
        check_password_text(old_password, field="oldPassword")
        if not new_password:
            raise Missing("New password must be specified.", field="newPassword")
        credentials = Credentials.check(session.username, old_password)
        actor = actor_of(context)
        user = self.login_service.verify(credentials, actor, action="account.change_password")
        self.users.set_password(user, new_password, actor, field="newPassword")
        new = self.login_service.open_session(
            user, actor, application_id=None, action="account.login"
        )
        context.session = new.session
        context.new_session_token = new.token
        return {"User": {"ID": user.id, "Name": user.username}, "ExpiresAt": iso(new.session)}

    @api_method("register", methods=("POST",))
    def register(
        self,
        context: RequestContext,
        username: str | None,
        password: str | None,
        email: str | None,
        display_name: str | None,
    ) -> dict[str, Any]:
        """Create an account, when self-registration is switched on."""
        if not self.self_registration:
            raise RegistrationClosed("Self-registration is switched off.", source="url")
        if not password:
            raise Missing("Password must be specified.", field="password")
        user = self.users.create(
            username, password, actor_of(context), email=email, display_name=display_name
        )
        return {"User": {"ID": user.id, "Name": user.username}}

    @api_method("resetPassword", methods=("POST",))
    def reset_password(
        self, context: RequestContext, token: str | None, new_password: str | None
    ) -> dict[str, Any]:
        """Set a new password with a one-time reset token from an administrator."""
        user = self.users.reset_password(token, new_password, actor_of(context))
        return {"User": {"ID": user.id, "Name": user.username}}
