"""mustUnderstand: header blocks targeted at this node that it must process, or refuse.

A block is targeted at Passport when it names no role (actor in SOAP 1.1), or the "next"
role, or (SOAP 1.2) the ultimate receiver. Blocks for other roles, and SOAP 1.2's "none"
role, are left alone whatever their mustUnderstand says.
"""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from passport.soap.envelope import MustUnderstandFault, NotUnderstood
from passport.soap.service import SOAP11_ENV, SOAP12_ENV, SoapFault, SoapVersion

SOAP11_NEXT = "http://schemas.xmlsoap.org/soap/actor/next"
SOAP12_NEXT = f"{SOAP12_ENV}/role/next"
SOAP12_ULTIMATE_RECEIVER = f"{SOAP12_ENV}/role/ultimateReceiver"

_ROLE_ATTRIBUTES: dict[SoapVersion, str] = {
    "1.1": f"{{{SOAP11_ENV}}}actor",
    "1.2": f"{{{SOAP12_ENV}}}role",
}
_MUST_UNDERSTAND: dict[SoapVersion, str] = {
    "1.1": f"{{{SOAP11_ENV}}}mustUnderstand",
    "1.2": f"{{{SOAP12_ENV}}}mustUnderstand",
}
_OUR_ROLES: dict[SoapVersion, frozenset[str]] = {
    "1.1": frozenset({"", SOAP11_NEXT}),
    "1.2": frozenset({"", SOAP12_NEXT, SOAP12_ULTIMATE_RECEIVER}),
}
_TRUE: dict[SoapVersion, frozenset[str]] = {
    "1.1": frozenset({"1"}),
    "1.2": frozenset({"1", "true"}),
}
_VALID: dict[SoapVersion, frozenset[str]] = {
    "1.1": frozenset({"0", "1"}),
    "1.2": frozenset({"0", "1", "true", "false"}),
}


def check_must_understand(
    version: SoapVersion,
    blocks: Iterable[etree._Element],
    understood: frozenset[tuple[str, str]],
) -> None:
    """MustUnderstandFault naming every targeted mandatory block not in `understood`."""
    missing: list[NotUnderstood] = []
    for block in blocks:
        if not _mandatory(version, block):
            continue
        name = etree.QName(block)
        namespace = name.namespace or ""
        if (namespace, name.localname) not in understood:
            missing.append(NotUnderstood(namespace, name.localname, block.prefix))
    if missing:
        raise MustUnderstandFault(missing)


def _mandatory(version: SoapVersion, block: etree._Element) -> bool:
    raw = block.get(_MUST_UNDERSTAND[version])
    if raw is None:
        return False
    value = raw.strip()
    if value not in _VALID[version]:
        allowed = ", ".join(sorted(_VALID[version]))
        raise SoapFault(
            "Sender",
            f'Header "{block.tag}" has mustUnderstand="{raw}"; allowed values: {allowed}',
        )
    role = (block.get(_ROLE_ATTRIBUTES[version]) or "").strip()
    return value in _TRUE[version] and role in _OUR_ROLES[version]
