"""Starlette routes and middleware that adapt `api/` (and later `soap/`) to HTTP."""
