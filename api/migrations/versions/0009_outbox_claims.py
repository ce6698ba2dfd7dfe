"""outbox claims: indexes made for the dispatcher's claim, and reminders' own sync tracking

Revision ID: 0009_outbox_claims
Revises: 0008_account_disabled
Create Date: 2026-12-02 14:00:00

The claim scans only unsettled rows: pending ones by ``due_at`` and leased ones by
``lease_until``, each through a partial index, so the millions of settled rows a county
accumulates cost it nothing. The old (state, due_at) index goes. ``sync_version`` gives the
synced ``reminders`` table its own change tracking (the dispatcher no longer marks the
appointment changed for each delivery it settles): existing rows start at 0 (phones
already have them through their appointments), new and settled rows are stamped at commit.
Plain ADD COLUMN and CREATE/DROP INDEX on both backends (no SQLite table rebuild).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_outbox_claims"
down_revision: str | Sequence[str] | None = "0008_account_disabled"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "reminder_deliveries"
CLAIMABLE = sa.text("state = 'pending' AND channel <> 'app'")
LEASED = sa.text("state = 'sending'")
PENDING = sa.text("sync_version IS NULL")


def _partial(name: str, column: str, where: sa.TextClause) -> None:
    op.create_index(name, TABLE, [column], sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    op.add_column(TABLE, sa.Column("sync_version", sa.BigInteger(), nullable=True))
    op.execute(sa.text(f"UPDATE {TABLE} SET sync_version = 0"))  # noqa: S608 (a constant)
    _partial("ix_reminder_deliveries_claimable", "due_at", CLAIMABLE)
    _partial("ix_reminder_deliveries_leased", "lease_until", LEASED)
    _partial("ix_reminder_deliveries_sync_pending", "id", PENDING)
    op.create_index(
        "ix_reminder_deliveries_member_id_sync_version", TABLE, ["member_id", "sync_version"]
    )
    op.drop_index("ix_reminder_deliveries_state_due_at", table_name=TABLE)
    op.drop_index("ix_reminder_deliveries_member_id", table_name=TABLE)


def downgrade() -> None:
    op.create_index("ix_reminder_deliveries_member_id", TABLE, ["member_id"])
    op.create_index("ix_reminder_deliveries_state_due_at", TABLE, ["state", "due_at"])
    op.drop_index("ix_reminder_deliveries_member_id_sync_version", table_name=TABLE)
    op.drop_index("ix_reminder_deliveries_sync_pending", table_name=TABLE)
    op.drop_index("ix_reminder_deliveries_leased", table_name=TABLE)
    op.drop_index("ix_reminder_deliveries_claimable", table_name=TABLE)
    op.drop_column(TABLE, "sync_version")
