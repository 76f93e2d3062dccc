"""XKMS asynchronous processing: requests that wait for an administrator's decision.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from passport.storage.tables import MYSQL_TABLE_OPTIONS

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xkms_pending",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("response_id", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(255), nullable=False),
        sa.Column("request_xml", sa.Text(), nullable=False),
        sa.Column("service", sa.String(255), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("result_xml", sa.Text(), nullable=True),
        sa.Column("notification_mechanism", sa.String(255), nullable=True),
        sa.Column("notification_identifier", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(160), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_xkms_pending"),
        sa.UniqueConstraint("response_id", name="uq_xkms_pending_response_id"),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_index("ix_xkms_pending_state", "xkms_pending", ["state"])


def downgrade() -> None:
    op.drop_table("xkms_pending")
