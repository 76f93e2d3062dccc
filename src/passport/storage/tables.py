"""The database schema as SQLAlchemy Core tables; migrations create exactly this."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# MariaDB/MySQL tables compare text exactly, as SQLite and PostgreSQL do.
MYSQL_TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

APPLICATION_NAME_MAX = 255
ORIGIN_MAX = 255

# The original Passport service's table, kept with its name and columns so that an
# existing database can be adopted with every row and ID. Passport adds the hashed
# client secret and the creation time.
application_info = Table(
    "application_info",
    metadata,
    Column("applicationid", Integer, primary_key=True, autoincrement=True),
    Column("name", String(APPLICATION_NAME_MAX), nullable=False),
    Column("secret_hash", String(64), nullable=True),
    Column("created_at", DateTime(timezone=False), nullable=True),
    Index("ix_application_info_name", "name"),
    **MYSQL_TABLE_OPTIONS,
)

# Browser origins (scheme://host[:port]) registered for an application: CORS and CSRF.
application_origin = Table(
    "application_origin",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "applicationid",
        Integer,
        ForeignKey("application_info.applicationid", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("origin", String(ORIGIN_MAX), nullable=False),
    UniqueConstraint("applicationid", "origin"),
    Index("ix_application_origin_origin", "origin"),
    **MYSQL_TABLE_OPTIONS,
)
