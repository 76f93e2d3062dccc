"""Who may call what: sessions, CSRF and CORS origins, application credentials, admin rights."""

from __future__ import annotations

from passport.api.context import RequestContext
from passport.api.errors import (
    ApplicationAuthFailed,
    CrossSiteRefused,
    NotLoggedIn,
    PermissionDenied,
)
from passport.identity.applications import PASSPORT_APPLICATION, Application, ApplicationService
from passport.identity.groups import has_permission
from passport.identity.sessions import Session, SessionService
from passport.storage.database import Database

ADMIN_PERMISSION = "passport:admin"


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
        self.applications = applications
        self.public_origin = public_origin

    def prepare(self, context: RequestContext) -> None:
        """Check CSRF and set `session` and `cors_origin`; raises CrossSiteRefused."""
        origin = context.origin
        registered = jsonp_sessions = False
        if origin is not None and origin != self.public_origin:
            registered, jsonp_sessions = self.applications.origin_status(origin)
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
        if context.session_token is not None:
            context.session = self.sessions.validate(context.session_token)

    def is_logged_in(self, token: str) -> bool:
        """Whether a cookie token names a live session (for envelopes of failed requests)."""
        return self.sessions.validate(token) is not None

    @staticmethod
    def require_session(context: RequestContext) -> Session:
        """The request's session; NotLoggedIn otherwise."""
        if context.session is None:
            raise NotLoggedIn("You must be logged in.", source="session")
        return context.session

    def require_application(self, context: RequestContext) -> Application:
        """The application authenticated by HTTP Basic `applicationId:secret`."""
        if context.basic_credentials is None:
            raise ApplicationAuthFailed(
                "Application credentials (HTTP Basic applicationId:secret) are required.",
                source="Authorization",
            )
        application_id, secret = context.basic_credentials
        application = self.applications.authenticate(application_id, secret)
        if application is None:
            raise ApplicationAuthFailed(
                "Application ID or secret is incorrect.", source="Authorization"
            )
        return application

    def require_admin(self, context: RequestContext) -> Session:
        """The session of a user holding `passport:admin` in application Passport."""
        session = self.require_session(context)
        with self.database.read() as connection:
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
