"""XKMS two-phase protocol: issued nonces (hashed), bound to their request, used once.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from passport.storage.tables import MYSQL_TABLE_OPTIONS

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xkms_nonce",
        sa.Column("nonce_hash", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(255), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("nonce_hash", name="pk_xkms_nonce"),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_index("ix_xkms_nonce_expires_at", "xkms_nonce", ["expires_at"])


def downgrade() -> None:
    op.drop_table("xkms_nonce")
