"""XKMS 2.0: messages, shared secrets, keys, XML signatures and operations; no HTTP."""
