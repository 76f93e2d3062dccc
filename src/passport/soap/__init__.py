"""The generic SOAP 1.1/1.2 web-services container: bytes in, bytes out, no framework."""
