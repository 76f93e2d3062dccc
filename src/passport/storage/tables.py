"""The database schema as SQLAlchemy Core tables; migrations create exactly this."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
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
USERNAME_MAX = 64
EMAIL_MAX = 254
DISPLAY_NAME_MAX = 128
GROUP_NAME_MAX = 64
PERMISSION_MAX = 128

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
    # Whether JSONP answers from this application's origins may carry session-bound data.
    Column("jsonp_sessions", Boolean, nullable=False, default=False, server_default=false()),
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

# Times are stored as naive UTC everywhere: one convention on all three backends.

user_account = Table(
    "user_account",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(USERNAME_MAX), nullable=False),
    # NFKC + casefold of the username: the unique key, so 'Alice' and 'ALICE' are one user.
    Column("username_key", String(USERNAME_MAX * 3), nullable=False),
    Column("email", String(EMAIL_MAX), nullable=True),
    Column("display_name", String(DISPLAY_NAME_MAX), nullable=True),
    Column("password_hash", String(255), nullable=True),
    Column("locked", Boolean, nullable=False, default=False),
    # Brute-force guard, updated only by single atomic statements.
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("lockouts", Integer, nullable=False, default=0),
    Column("locked_until", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("last_login_at", DateTime, nullable=True),
    UniqueConstraint("username_key"),
    **MYSQL_TABLE_OPTIONS,
)

# One-time password-reset tokens, stored as SHA-256.
password_reset = Table(
    "password_reset",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime, nullable=True),
    **MYSQL_TABLE_OPTIONS,
)

# Login sessions: the browser's cookie (application_id NULL) or an application's token.
login_session = Table(
    "login_session",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False),
    Column("user_id", Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False),
    Column(
        "application_id",
        Integer,
        ForeignKey("application_info.applicationid", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    Column("client_address", String(64), nullable=True),
    UniqueConstraint("token_hash"),
    Index("ix_login_session_user_id", "user_id"),
    **MYSQL_TABLE_OPTIONS,
)

# Groups are global (scope 'global') or belong to one application (scope 'app:<id>').
user_group = Table(
    "user_group",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(GROUP_NAME_MAX), nullable=False),
    Column("name_key", String(GROUP_NAME_MAX * 3), nullable=False),
    Column(
        "application_id",
        Integer,
        ForeignKey("application_info.applicationid", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("scope", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("scope", "name_key"),
    **MYSQL_TABLE_OPTIONS,
)

group_member = Table(
    "group_member",
    metadata,
    Column("group_id", Integer, ForeignKey("user_group.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_group_member_user_id", "user_id"),
    **MYSQL_TABLE_OPTIONS,
)

# A permission string of one application, granted to a group or to a user ('g:<id>'/'u:<id>').
permission_grant = Table(
    "permission_grant",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "application_id",
        Integer,
        ForeignKey("application_info.applicationid", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("permission", String(PERMISSION_MAX), nullable=False),
    Column("subject", String(32), nullable=False),
    Column("group_id", Integer, ForeignKey("user_group.id", ondelete="CASCADE"), nullable=True),
    Column("user_id", Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=True),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("application_id", "permission", "subject"),
    Index("ix_permission_grant_group_id", "group_id"),
    Index("ix_permission_grant_user_id", "user_id"),
    **MYSQL_TABLE_OPTIONS,
)

# Failed-login throttling per client address, in fixed windows; atomic upserts only.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("address", String(64), primary_key=True),
    Column("window_start", DateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

# The append-only audit log: who did what to whom, from where, and whether it succeeded.
audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(160), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(255), nullable=False),
    Column("client_address", String(64), nullable=False),
    Column("success", Boolean, nullable=False),
    Column("detail", String(255), nullable=True),
    Index("ix_audit_event_at", "at"),
    **MYSQL_TABLE_OPTIONS,
)

# XKMS ---------------------------------------------------------------------------------

XKMS_ID_MAX = 64
USE_KEY_WITH_APPLICATION_MAX = 255
USE_KEY_WITH_IDENTIFIER_MAX = 512

# Limited-use passcodes: their derived keys sealed with the home's data key; never the
# passcode itself. `uses_left` only ever changes by one atomic UPDATE.
xkms_passcode = Table(
    "xkms_passcode",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False),
    Column("authentication_key", String(255), nullable=False),
    Column("cipher_key", String(255), nullable=False),
    Column("uses_total", Integer, nullable=False),
    Column("uses_left", Integer, nullable=False),
    Column("expires_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(160), nullable=False),
    Index("ix_xkms_passcode_user_id", "user_id"),
    **MYSQL_TABLE_OPTIONS,
)

xkms_passcode_use = Table(
    "xkms_passcode_use",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "passcode_id",
        Integer,
        ForeignKey("xkms_passcode.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("application", String(USE_KEY_WITH_APPLICATION_MAX), nullable=False),
    Column("identifier", String(USE_KEY_WITH_IDENTIFIER_MAX), nullable=False),
    Index("ix_xkms_passcode_use_passcode_id", "passcode_id"),
    Index("ix_xkms_passcode_use_application_identifier", "application", "identifier"),
    **MYSQL_TABLE_OPTIONS,
)

# Key bindings: a public key bound to a Passport user, with its usages and validity.
# A binding whose owner is deleted keeps its row (user_id NULL) and validates as Invalid.
xkms_key_binding = Table(
    "xkms_key_binding",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("binding_id", String(XKMS_ID_MAX), nullable=False),
    Column("user_id", Integer, ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True),
    Column(
        "passcode_id",
        Integer,
        ForeignKey("xkms_passcode.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("key_fingerprint", String(64), nullable=False),
    Column("public_key", Text, nullable=False),
    Column("key_name", String(255), nullable=True),
    Column("key_usages", String(64), nullable=False),
    Column("not_before", DateTime, nullable=False),
    Column("not_after", DateTime, nullable=True),
    Column("revocation_code_identifier", String(64), nullable=True),
    Column("revoked_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    # A server-generated private key, PKCS#8 DER sealed with the home's data key.
    Column("private_key_escrow", Text, nullable=True),
    UniqueConstraint("binding_id"),
    Index("ix_xkms_key_binding_key_fingerprint", "key_fingerprint"),
    Index("ix_xkms_key_binding_key_name", "key_name"),
    Index("ix_xkms_key_binding_user_id", "user_id"),
    **MYSQL_TABLE_OPTIONS,
)

xkms_binding_use = Table(
    "xkms_binding_use",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "binding_id",
        Integer,
        ForeignKey("xkms_key_binding.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("application", String(USE_KEY_WITH_APPLICATION_MAX), nullable=False),
    Column("identifier", String(USE_KEY_WITH_IDENTIFIER_MAX), nullable=False),
    Index("ix_xkms_binding_use_binding_id", "binding_id"),
    Index("ix_xkms_binding_use_application_identifier", "application", "identifier"),
    **MYSQL_TABLE_OPTIONS,
)

# Two-phase protocol: nonces the service issued, bound to the phase-one request; each
# works once, until it expires. Stored as SHA-256.
xkms_nonce = Table(
    "xkms_nonce",
    metadata,
    Column("nonce_hash", String(64), primary_key=True),
    Column("request_id", String(255), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime, nullable=True),
    Index("ix_xkms_nonce_expires_at", "expires_at"),
    **MYSQL_TABLE_OPTIONS,
)

# Asynchronous processing: requests waiting for an administrator's decision, and the result
# once decided (unsigned; signed when handed out).
xkms_pending = Table(
    "xkms_pending",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("response_id", String(XKMS_ID_MAX), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("request_id", String(255), nullable=False),
    Column("request_xml", Text, nullable=False),
    Column("service", String(255), nullable=False),
    Column("client_address", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("result_xml", Text, nullable=True),
    Column("notification_mechanism", String(255), nullable=True),
    Column("notification_identifier", String(255), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("decided_at", DateTime, nullable=True),
    Column("decided_by", String(160), nullable=True),
    UniqueConstraint("response_id"),
    Index("ix_xkms_pending_state", "state"),
    **MYSQL_TABLE_OPTIONS,
)

# Certificates Passport's CA issued for key bindings; the CRL lists those of revoked ones.
xkms_certificate = Table(
    "xkms_certificate",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("serial", String(64), nullable=False),
    Column(
        "binding_id",
        Integer,
        ForeignKey("xkms_key_binding.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("issued_at", DateTime, nullable=False),
    Column("not_after", DateTime, nullable=False),
    Column("certificate", Text, nullable=False),
    UniqueConstraint("serial"),
    Index("ix_xkms_certificate_binding_id", "binding_id"),
    **MYSQL_TABLE_OPTIONS,
)
