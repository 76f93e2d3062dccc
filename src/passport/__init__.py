"""Passport: single sign-on, groups and permissions, and an XKMS 2.0 key registry."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("passport-server")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
