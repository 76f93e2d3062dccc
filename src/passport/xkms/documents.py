"""The WSDL and schemas the XKMS endpoint serves, and schema validation of results."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import as_file, files

from lxml import etree

SCHEMA_FILES = ("xkms.xsd", "xmldsig-core-schema.xsd", "xenc-schema.xsd")
_LOCATION = re.compile(r"""schemaLocation=(["'])\./([\w.-]+)\1""")
_ADDRESS = re.compile(r"""(<wsdlsoap:address\s+location=)(["'])[^"']*\2""")
XML = "text/xml; charset=utf-8"


@cache
def _read(name: str) -> str:
    return files("passport.xkms").joinpath(f"schemas/{name}").read_text("utf-8")


def _point_imports(text: str, endpoint_url: str) -> str:
    return _LOCATION.sub(lambda m: f'schemaLocation="{endpoint_url}?xsd={m.group(2)}"', text)


def document(endpoint_url: str, query: str) -> tuple[bytes, str] | None:
    """`?wsdl` or `?xsd=<name>` for this endpoint, addresses pointing at it; else None."""
    if query.lower() == "wsdl":
        text = _point_imports(_read("xkms.wsdl"), endpoint_url)
        text = _ADDRESS.sub(lambda m: f'{m.group(1)}"{endpoint_url}"', text)
        return text.encode("utf-8"), XML
    key, _, name = query.partition("=")
    if key == "xsd" and name in SCHEMA_FILES:
        return _point_imports(_read(name), endpoint_url).encode("utf-8"), XML
    return None


@cache
def xkms_schema() -> etree.XMLSchema:
    """The XKMS schema (with XML Signature and Encryption), loaded from the package files;
    the relative imports resolve beside it on disk, never over the network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    with as_file(files("passport.xkms").joinpath("schemas")) as folder:
        return etree.XMLSchema(etree.parse(str(folder / "xkms.xsd"), parser))
