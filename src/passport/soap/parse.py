"""Reading a request: Content-Type, hardened XML parsing, and the envelope's structure.

Each check raises a SoapFault that says exactly what is wrong. The parser never loads a DTD,
never resolves an entity and never touches the network, and any DOCTYPE is refused, so
neither XXE nor entity expansion can happen.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from lxml import etree

from passport.soap.envelope import detail_element
from passport.soap.service import SOAP11_ENV, SOAP12_ENV, SoapFault, SoapVersion

MAX_DEPTH = 64
ENVELOPE_VERSIONS: dict[str, SoapVersion] = {SOAP11_ENV: "1.1", SOAP12_ENV: "1.2"}
MEDIA_VERSIONS: dict[str, SoapVersion] = {"text/xml": "1.1", "application/soap+xml": "1.2"}
MEDIA_TYPES: dict[SoapVersion, str] = {"1.1": "text/xml", "1.2": "application/soap+xml"}
UTF8_NAMES = frozenset({"utf-8", "utf8"})

_PARAMETER = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')
_MARKUP_OTHER_THAN_PI_OR_DECLARATION = re.compile(rb"<[^?!]")
_TOO_DEEP = "boolean(" + "/*" * (MAX_DEPTH + 1) + ")"
_HAS_PROCESSING_INSTRUCTION = "boolean(//processing-instruction())"
_per_thread = threading.local()
_RESOURCE_LIMIT: int = etree.ErrorTypes.ERR_RESOURCE_LIMIT


@dataclass(frozen=True)
class Envelope:
    """The parts of a structurally sound envelope."""

    version: SoapVersion
    root: etree._Element
    headers: tuple[etree._Element, ...]
    body: etree._Element


def version_for_media_type(content_type: str) -> SoapVersion | None:
    """The SOAP version a Content-Type names (text/xml 1.1, application/soap+xml 1.2)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return MEDIA_VERSIONS.get(media_type)


def check_content_type(content_type: str) -> SoapVersion:
    """The version the Content-Type names; a Sender fault for other types or charsets."""
    version = version_for_media_type(content_type)
    if version is None:
        shown = content_type.strip() or "(none)"
        raise SoapFault(
            "Sender",
            f'Unsupported Content-Type "{shown}": send text/xml (SOAP 1.1) or '
            "application/soap+xml (SOAP 1.2)",
        )
    for name, value in _PARAMETER.findall(content_type):
        if name.lower() == "charset":
            charset = value.strip('"').lower()
            if charset not in UTF8_NAMES:
                raise SoapFault("Sender", f'Unsupported charset "{charset}": send UTF-8')
    return version


def parse_document(message: bytes) -> etree._Element:
    """The root of the message's XML; a Sender fault for anything but plain UTF-8 XML."""
    if not message.strip():
        raise SoapFault("Sender", "Empty message: the request has no body")
    if _doctype_in_prolog(message):
        raise _doctype_refused()
    try:
        root = etree.fromstring(message, _tools().parser)
    except etree.XMLSyntaxError as error:
        line, column = error.position
        detail = detail_element("ParseError", error.msg)
        detail.set("line", str(line))
        detail.set("column", str(column))
        # libxml2's own limits (nesting past 256, entity amplification) are not syntax errors.
        limited = error.code == _RESOURCE_LIMIT  # type: ignore[attr-defined]  # lxml-stubs lack it
        reason = "Message exceeds the parser's limits" if limited else "Unparseable message"
        raise SoapFault("Sender", reason, detail=detail) from None
    docinfo = root.getroottree().docinfo
    # Any DOCTYPE, with or without an internal subset, shows as an internal DTD.
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _doctype_refused()
    encoding = (docinfo.encoding or "UTF-8").lower()
    if encoding not in UTF8_NAMES:
        raise SoapFault("Sender", f'Unsupported encoding "{encoding}": send UTF-8')
    tools = _tools()
    if tools.too_deep(root):
        raise SoapFault("Sender", f"Message nested deeper than {MAX_DEPTH} levels")
    if tools.has_processing_instruction(root):
        raise SoapFault("Sender", "A SOAP message must not contain processing instructions")
    return root


def envelope_version(root: etree._Element) -> SoapVersion:
    """The version the root's namespace names; VersionMismatch for any other root."""
    name = etree.QName(root)
    version = ENVELOPE_VERSIONS.get(name.namespace or "")
    if version is None or name.localname != "Envelope":
        raise SoapFault(
            "VersionMismatch",
            f'Unsupported envelope "{root.tag}": send a SOAP 1.1 or SOAP 1.2 Envelope',
        )
    return version


def check_media_type(version: SoapVersion, media_version: SoapVersion) -> None:
    """A Sender fault when the Content-Type names the other SOAP version."""
    if version != media_version:
        raise SoapFault(
            "Sender",
            f"Content-Type {MEDIA_TYPES[media_version]} does not fit a SOAP {version} "
            f"envelope: send {MEDIA_TYPES[version]}",
        )


def split_envelope(root: etree._Element, version: SoapVersion) -> Envelope:
    """The header blocks and the one body element; a Sender fault for any other shape."""
    namespace = SOAP11_ENV if version == "1.1" else SOAP12_ENV
    children = [child for child in root if isinstance(child.tag, str)]
    header: etree._Element | None = None
    if children and children[0].tag == f"{{{namespace}}}Header":
        header = children.pop(0)
    if not children or children[0].tag != f"{{{namespace}}}Body":
        found = f'"{etree.QName(children[0]).localname}"' if children else "nothing"
        raise SoapFault("Sender", f"Envelope must hold an optional Header and a Body, not {found}")
    body = children.pop(0)
    # SOAP 1.1 lets other elements follow the Body; SOAP 1.2 does not.
    for child in children:
        if version == "1.2" or not _qualified(child) or child.tag.startswith(f"{{{namespace}}}"):
            raise SoapFault("Sender", f'Envelope holds "{child.tag}" after its Body')
    headers = () if header is None else tuple(c for c in header if isinstance(c.tag, str))
    for block in headers:
        if not _qualified(block):
            raise SoapFault("Sender", f'Header block "{block.tag}" must be namespace-qualified')
    return Envelope(version, root, headers, _body_element(body))


def _body_element(body: etree._Element) -> etree._Element:
    elements = [child for child in body if isinstance(child.tag, str)]
    texts = [body.text, *(child.tail for child in body)]
    if any(text and text.strip() for text in texts):
        raise SoapFault("Sender", "Body holds text: it must hold one namespace-qualified element")
    if not elements:
        raise SoapFault("Sender", "Body is empty: it must hold one namespace-qualified element")
    if len(elements) > 1:
        raise SoapFault("Sender", f"Body holds {len(elements)} elements: it must hold exactly one")
    element = elements[0]
    if not _qualified(element):
        raise SoapFault("Sender", f'Body element "{element.tag}" must be namespace-qualified')
    return element


def _qualified(element: etree._Element) -> bool:
    return str(element.tag).startswith("{")


def _doctype_in_prolog(message: bytes) -> bool:
    """True when a DOCTYPE stands before the first start tag: refused before parsing.

    A cheap first look; the parsed document's docinfo is the authority (a comment holding
    markup before the DOCTYPE defeats this look, not that one).
    """
    position = message.find(b"<!DOCTYPE")
    if position < 0:
        return False
    return _MARKUP_OTHER_THAN_PI_OR_DECLARATION.search(message, 0, position) is None


def _doctype_refused() -> SoapFault:
    return SoapFault("Sender", "DOCTYPE is not allowed in a SOAP message")


class _Tools:
    """A parser and compiled XPaths; lxml parsers must not be shared between threads."""

    def __init__(self) -> None:
        self.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=False,
            remove_pis=False,
        )
        self.too_deep = etree.XPath(_TOO_DEEP)
        self.has_processing_instruction = etree.XPath(_HAS_PROCESSING_INSTRUCTION)


def _tools() -> _Tools:
    tools: _Tools | None = getattr(_per_thread, "tools", None)
    if tools is None:
        tools = _per_thread.tools = _Tools()
    return tools
