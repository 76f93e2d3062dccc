"""XKMS errors carry their wire codes: ResultMajor and ResultMinor."""

from __future__ import annotations

from passport.xkms import names


class XkmsError(Exception):
    """A request that gets a result with this ResultMajor/ResultMinor instead of success.

    `reason` is for the audit log and the server log, never sent to the client.
    """

    major = names.SENDER
    minor: str | None = None

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoAuthentication(XkmsError):
    """Authentication missing or wrong: a bad, used-up or expired passcode."""

    minor = names.NO_AUTHENTICATION


class Refused(XkmsError):
    """Authenticated, but the service refuses: a UseKeyWith not allowed, a weak key..."""

    minor = names.REFUSED


class ProofOfPossessionRequired(XkmsError):
    """A registration without a valid proof that the client holds the private key."""

    minor = names.PROOF_OF_POSSESSION_REQUIRED


class MessageNotSupported(XkmsError):
    """A request the service does not accept (e.g. addressed to another Service)."""

    minor = names.MESSAGE_NOT_SUPPORTED


class NoMatch(XkmsError):
    """No key binding matches what a Revoke, Reissue or Recover names (Locate and Validate
    answer Success/NoMatch instead)."""

    major = names.RECEIVER
    minor = names.NO_MATCH


class TooManyResponses(XkmsError):
    """More matches than the request's ResponseLimit allows."""

    minor = names.TOO_MANY_RESPONSES


class Failure(XkmsError):
    """The request is malformed in a way the schema allows us to name only as failure."""

    minor = names.FAILURE


class ReceiverFailure(XkmsError):
    """The service could not process a valid request."""

    major = names.RECEIVER
    minor = names.FAILURE
