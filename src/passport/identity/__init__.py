"""Identity: applications, users, groups, permissions, sessions. Knows nothing of HTTP."""
