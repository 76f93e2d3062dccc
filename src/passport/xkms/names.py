"""XKMS 2.0 namespaces and the URIs of its enumerations."""

from __future__ import annotations

XKMS = "http://www.w3.org/2002/03/xkms#"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
NSMAP = {None: XKMS, "ds": DS, "xenc": XENC}


def q(local: str) -> str:
    """`{xkms}local`: an element name in the XKMS namespace."""
    return f"{{{XKMS}}}{local}"


def ds(local: str) -> str:
    """`{ds}local`: an element name in the XML Signature namespace."""
    return f"{{{DS}}}{local}"


# ResultMajor
SUCCESS = XKMS + "Success"
VERSION_MISMATCH = XKMS + "VersionMismatch"
SENDER = XKMS + "Sender"
RECEIVER = XKMS + "Receiver"
REPRESENT = XKMS + "Represent"
PENDING = XKMS + "Pending"

# ResultMinor
NO_MATCH = XKMS + "NoMatch"
TOO_MANY_RESPONSES = XKMS + "TooManyResponses"
INCOMPLETE = XKMS + "Incomplete"
FAILURE = XKMS + "Failure"
REFUSED = XKMS + "Refused"
NO_AUTHENTICATION = XKMS + "NoAuthentication"
MESSAGE_NOT_SUPPORTED = XKMS + "MessageNotSupported"
UNKNOWN_RESPONSE_ID = XKMS + "UnknownResponseId"
REPRESENT_REQUIRED = XKMS + "RepresentRequired"
NOT_SYNCHRONOUS = XKMS + "NotSynchronous"
OPTIONAL_ELEMENT_NOT_SUPPORTED = XKMS + "OptionalElementNotSupported"
PROOF_OF_POSSESSION_REQUIRED = XKMS + "ProofOfPossessionRequired"
TIME_INSTANT_NOT_SUPPORTED = XKMS + "TimeInstantNotSupported"
TIME_INSTANT_OUT_OF_RANGE = XKMS + "TimeInstantOutOfRange"

# KeyUsage
SIGNATURE = XKMS + "Signature"
ENCRYPTION = XKMS + "Encryption"
EXCHANGE = XKMS + "Exchange"
KEY_USAGES = (SIGNATURE, ENCRYPTION, EXCHANGE)

# Status values and reasons
VALID = XKMS + "Valid"
INVALID = XKMS + "Invalid"
INDETERMINATE = XKMS + "Indeterminate"
ISSUER_TRUST = XKMS + "IssuerTrust"
REVOCATION_STATUS = XKMS + "RevocationStatus"
VALIDITY_INTERVAL = XKMS + "ValidityInterval"
SIGNATURE_REASON = XKMS + "Signature"

# RespondWith
RESPOND_KEY_NAME = XKMS + "KeyName"
RESPOND_KEY_VALUE = XKMS + "KeyValue"
RESPOND_X509_CERT = XKMS + "X509Cert"
RESPOND_X509_CHAIN = XKMS + "X509Chain"
RESPOND_X509_CRL = XKMS + "X509CRL"
RESPOND_PRIVATE_KEY = XKMS + "PrivateKey"

# ResponseMechanism
MECHANISM_PENDING = XKMS + "Pending"
MECHANISM_REPRESENT = XKMS + "Represent"
MECHANISM_REQUEST_SIGNATURE_VALUE = XKMS + "RequestSignatureValue"
