"""Applications: hashed client secret, creation time, name index, registered origins.

On MariaDB/MySQL an adopted table is also moved to InnoDB and utf8mb4 (transactions,
full Unicode); the rows and IDs stay as they are.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from passport.storage.tables import MYSQL_TABLE_OPTIONS

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        op.execute("ALTER TABLE application_info ENGINE=InnoDB")
        op.execute(
            "ALTER TABLE application_info CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )
    with op.batch_alter_table("application_info") as batch:
        batch.add_column(sa.Column("secret_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=False), nullable=True))
        batch.create_index("ix_application_info_name", ["name"])
    op.create_table(
        "application_origin",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "applicationid",
            sa.Integer,
            sa.ForeignKey(
                "application_info.applicationid",
                ondelete="CASCADE",
                name="fk_application_origin_applicationid_application_info",
            ),
            nullable=False,
        ),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_application_origin"),
        sa.UniqueConstraint(
            "applicationid", "origin", name="uq_application_origin_applicationid_origin"
        ),
        **MYSQL_TABLE_OPTIONS,
    )
    op.create_index("ix_application_origin_origin", "application_origin", ["origin"])


def downgrade() -> None:
    op.drop_index("ix_application_origin_origin", "application_origin")
    op.drop_table("application_origin")
    with op.batch_alter_table("application_info") as batch:
        batch.drop_index("ix_application_info_name")
        batch.drop_column("created_at")
        batch.drop_column("secret_hash")
