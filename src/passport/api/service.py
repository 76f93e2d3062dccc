"""`Service`: the original Passport controller — what this server is, and application IDs."""

from __future__ import annotations

from typing import Any

from passport import __version__
from passport.api.context import RequestContext
from passport.api.errors import ArgumentMissing, NotFound
from passport.api.registry import Controller, api_method
from passport.identity.applications import ApplicationService, check_application_name


class ServiceController(Controller):
    """`/Service/...`."""

    name = "Service"

    def __init__(self, applications: ApplicationService) -> None:
        self.applications = applications

    @api_method("Index", methods=("GET",), read_only=True, inline=True)
    def index(self, context: RequestContext) -> dict[str, Any]:
        """What this server is, its version, and where to go next."""
        base = context.public_url
        return {
            "Name": "Passport",
            "Version": __version__,
            "Links": {
                "Self": f"{base}/Service/Index",
                "GetApplication": f"{base}/Service/getApplication?name=Passport",
                "OpenAPI": f"{base}/openapi.json",
                "Health": f"{base}/healthz",
                "Ready": f"{base}/readyz",
                "Metrics": f"{base}/metrics",
            },
        }

    @api_method("getApplication", methods=("GET", "POST"), read_only=True, inline=True)
    def get_application(self, context: RequestContext, name: str | None) -> dict[str, Any]:
        """The ID of the application with this name."""
        if name is None or not name.strip():
            raise ArgumentMissing(
                "Application name must be specified.", source="name", value=name or ""
            )
        checked = check_application_name(name)
        application = self.applications.find_by_name(checked, context.connection())
        if application is None:
            raise NotFound(f"Could not find application '{checked}'.", source="name", value=checked)
        return {
            "Message": f"Application ID for '{application.name}' is: {application.id}",
            "Application": {"ID": application.id},
        }
