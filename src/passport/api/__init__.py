"""The JSON envelope API of the original Passport service. Knows nothing of Starlette."""
