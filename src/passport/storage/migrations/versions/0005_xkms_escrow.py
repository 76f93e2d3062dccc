"""XKMS: escrowed private keys of server-generated key bindings (sealed, never plain).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("xkms_key_binding") as batch:
        batch.add_column(sa.Column("private_key_escrow", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("xkms_key_binding") as batch:
        batch.drop_column("private_key_escrow")
