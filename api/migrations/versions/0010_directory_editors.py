"""directory editors: the staff-to-organization binding moves from accounts to the directory

Revision ID: 0010_directory_editors
Revises: 0009_outbox_claims
Create Date: 2026-12-03 10:00:00

``accounts.organization_id`` pointed the accounts domain at the directory's
``organizations``; the binding is the directory's, so it becomes ``directory_editors``
(one row per bound account), and accounts point at no other domain. Existing bindings are
copied (bound at the account's last update, the latest they can have been made). An
organization leaving the directory deletes its editors' rows, as it emptied the column
before; erasing an account deletes its row. Dropping a column that has a foreign key
rebuilds ``accounts`` on SQLite (batch mode); env.py turns SQLite's foreign keys off while
migrating, so the rebuild does not cascade to the accounts' rows, and ``accounts`` has no
sync triggers to lose. Downgrade copies the rows back into the column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.core.db

revision: str = "0010_directory_editors"
down_revision: str | Sequence[str] | None = "0009_outbox_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_FK = "fk_accounts_organization_id_organizations"


def upgrade() -> None:
    op.create_table(
        "directory_editors",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=100), nullable=False),
        sa.Column("bound_at", api.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_directory_editors_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_directory_editors_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_directory_editors")),
    )
    op.create_index(
        "ix_directory_editors_organization_id", "directory_editors", ["organization_id"]
    )
    op.execute(
        "INSERT INTO directory_editors (account_id, organization_id, bound_at) "
        "SELECT id, organization_id, updated_at FROM accounts WHERE organization_id IS NOT NULL"
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(OLD_FK, type_="foreignkey")
        batch_op.drop_column("organization_id")


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", sa.String(length=100), nullable=True))
        batch_op.create_foreign_key(
            OLD_FK, "organizations", ["organization_id"], ["id"], ondelete="SET NULL"
        )
    op.execute(
        "UPDATE accounts SET organization_id = (SELECT organization_id FROM directory_editors "
        "WHERE directory_editors.account_id = accounts.id)"
    )
    op.drop_index("ix_directory_editors_organization_id", table_name="directory_editors")
    op.drop_table("directory_editors")
