"""Alembic migrations: one history for SQLite, PostgreSQL and MariaDB."""
