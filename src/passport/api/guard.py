"""Who may call what: sessions, CSRF and CORS origins, application credentials, admin rights."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from passport.api.context import RequestContext, SharedReads
from passport.api.errors import (
    ApplicationAuthFailed,
    CrossSiteRefused,
    NotLoggedIn,
    PermissionDenied,
)
from passport.identity.applications import PASSPORT_APPLICATION, Application, ApplicationService
from passport.identity.checks import SessionCheck, SessionChecker
from passport.identity.groups import has_permission
from passport.identity.sessions import Session, SessionService
from passport.storage.database import Database

ADMIN_PERMISSION = "passport:admin"


def _wrong_credentials() -> ApplicationAuthFailed:
    return ApplicationAuthFailed("Application ID or secret is incorrect.", source="Authorization")


class Guard:
    """Resolves a request's session and origin once, before the method runs."""

    def __init__(
        self,
        database: Database,
        sessions: SessionService,
        applications: ApplicationService,
        public_origin: str,
    ) -> None:
        self.database = database
        self.sessions = sessions
        self.checker = SessionChecker(sessions)
        self.applications = applications
        self.public_origin = public_origin

    @contextmanager
    def shared_reads(self, context: RequestContext) -> Iterator[None]:
        """Let the request's reads share one reader connection (kept between requests)."""
        with SharedReads(self.database) as shared:
            context.shared_reads = shared
            try:
                yield
            finally:
                context.shared_reads = None

    @contextmanager
    def reads(self, context: RequestContext) -> Iterator[Connection]:
        """The request's shared reader connection, or a read of its own."""
        shared = context.connection()
        if shared is not None:
            yield shared
            return
        with self.database.read() as connection:
            yield connection

    def prepare(self, context: RequestContext, *, identity: bool = False) -> None:
        """Check CSRF and set `session` and `cors_origin`; raises CrossSiteRefused.

        With `identity`, the session's memberships are read with it (`memberships`).
        """
        origin = context.origin
        registered = jsonp_sessions = False
        if origin is not None and origin != self.public_origin:
            registered, jsonp_sessions = self.applications.origin_status(
                origin, context.connection()
            )
        if context.jsonp and not jsonp_sessions:
            # A <script> include carries the cookie from any page: no session data then.
            context.session_token = None
        trusted = origin is not None and (origin == self.public_origin or registered)
        if context.http_method == "POST" and context.session_token is not None and not trusted:
            raise CrossSiteRefused(
                "A request carrying a Passport session must come from Passport's own "
                "origin or an application's registered origin.",
                source="Origin",
                value=origin or "",
            )
        if context.http_method == "POST" and origin is not None and not trusted:
            # A browser names the page that sent it: a foreign page may not post here even
            # without a session (no login CSRF). Servers send no Origin and are not affected.
            raise CrossSiteRefused(
                "A browser request must come from Passport's own origin or an "
                "application's registered origin.",
                source="Origin",
                value=origin,
            )
        if registered and not context.origin_from_referer:
            context.cors_origin = origin
        if context.session_token is None:
            return
        if identity:
            with self.reads(context) as connection:
                check = self.checker.browser(
                    connection, context.session_token, defer=context.deferred.append
                )
            context.session = check.session
            context.memberships = check.memberships
        else:
            context.session = self.sessions.validate(
                context.session_token,
                connection=context.connection(),
                defer=context.deferred.append,
            )

    def is_logged_in(self, token: str) -> bool:
        """Whether a cookie token names a live session (for envelopes of failed requests)."""
        return self.sessions.validate(token) is not None

    @staticmethod
    def require_session(context: RequestContext) -> Session:
        """The request's session; NotLoggedIn otherwise."""
        if context.session is None:
            raise NotLoggedIn("You must be logged in.", source="session")
        return context.session

    def validate_token(
        self, context: RequestContext, token: str | None, application_id: int
    ) -> Session | None:
        """The live session of this application a token names, or None."""
        return self.sessions.validate(
            token,
            application_id=application_id,
            connection=context.connection(),
            defer=context.deferred.append,
        )

    def check_application_token(self, context: RequestContext, token: str | None) -> SessionCheck:
        """The calling application's session a token names, with the user's memberships,
        in one statement; ApplicationAuthFailed when the application's credentials are not
        right."""
        credentials = self._basic_credentials(context)
        with self.reads(context) as connection:
            check = self.checker.application(
                connection, credentials, token, defer=context.deferred.append
            )
        if check.application is None:
            raise _wrong_credentials()
        return check

    @staticmethod
    def _basic_credentials(context: RequestContext) -> tuple[str, str]:
        if context.basic_credentials is None:
            raise ApplicationAuthFailed(
                "Application credentials (HTTP Basic applicationId:secret) are required.",
                source="Authorization",
            )
        return context.basic_credentials

    def require_application(self, context: RequestContext) -> Application:
        """The application authenticated by HTTP Basic `applicationId:secret`."""
        application_id, secret = self._basic_credentials(context)
        application = self.applications.authenticate(application_id, secret, context.connection())
        if application is None:
            raise _wrong_credentials()
        return application

    def require_admin(self, context: RequestContext) -> Session:
        """The session of a user holding `passport:admin` in application Passport."""
        session = self.require_session(context)
        with self.reads(context) as connection:
            passport = self.applications.find_by_name(PASSPORT_APPLICATION, connection)
            allowed = passport is not None and has_permission(
                connection, session.user_id, passport.id, ADMIN_PERMISSION
            )
        if not allowed:
            raise PermissionDenied(
                f"This needs the permission '{ADMIN_PERMISSION}'.",
                source="session",
                value=ADMIN_PERMISSION,
            )
        return session
