"""Storage: SQLAlchemy Core tables, engines per backend, Alembic migrations."""
