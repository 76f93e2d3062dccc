"""XKMS: certificates Passport's CA issued for key bindings (for chains and the CRL).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from passport.storage.tables import MYSQL_TABLE_OPTIONS

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xkms_certificate",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("binding_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("not_after", sa.DateTime(), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["binding_id"],
            ["xkms_key_binding.id"],
            name="fk_xkms_certificate_binding_id_xkms_key_binding",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_xkms_certificate"),
        sa.UniqueConstraint("serial", name="uq_xkms_certificate_serial"),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_index("ix_xkms_certificate_binding_id", "xkms_certificate", ["binding_id"])


def downgrade() -> None:
    op.drop_table("xkms_certificate")
