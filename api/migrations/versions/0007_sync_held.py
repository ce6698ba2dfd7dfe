"""sync: records sent to a phone whose visibility is someone else's decision

Revision ID: 0007_sync_held
Revises: 0006_sealed_titles
Create Date: 2026-12-02 00:40:00

A mentor's phone holds a mentee's shared check-ins. When one leaves the mentor's view
(grant revoked, narrowed or expired, help withdrawn, check-in deleted, member erased),
the mentor's phones must be told its id in ``deleted``, whatever sync strategy the phone
honours; this table says which ids went to which account, so no other id is ever named.
What mentors' phones were sent before this revision is read back from the access log,
which names every check-in a sync showed (action ``checkins.sync``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_sync_held"
down_revision: str | Sequence[str] | None = "0006_sealed_titles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_held",
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("table_name", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(120), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "table_name", "record_id", name="pk_sync_held"),
    )
    op.create_index("ix_sync_held_subject_account", "sync_held", ["subject_id", "account_id"])
    bind = op.get_bind()
    log = sa.table(
        "access_log",
        sa.column("member_id", sa.String),
        sa.column("mentor_id", sa.String),
        sa.column("action", sa.String),
        sa.column("record_ids", sa.JSON),
    )
    held: dict[tuple[str, str], str] = {}
    for member_id, mentor_id, record_ids in bind.execute(
        sa.select(log.c.member_id, log.c.mentor_id, log.c.record_ids).where(
            log.c.action == "checkins.sync", log.c.mentor_id.is_not(None)
        )
    ):
        for record_id in record_ids or []:
            held[(mentor_id, str(record_id))] = member_id
    rows = [
        {"account_id": a, "table_name": "shared_checkins", "record_id": r, "subject_id": m}
        for (a, r), m in held.items()
    ]
    table = sa.table(
        "sync_held",
        sa.column("account_id", sa.String),
        sa.column("table_name", sa.String),
        sa.column("record_id", sa.String),
        sa.column("subject_id", sa.String),
    )
    for start in range(0, len(rows), 500):
        op.bulk_insert(table, rows[start : start + 500])


def downgrade() -> None:
    op.drop_index("ix_sync_held_subject_account", table_name="sync_held")
    op.drop_table("sync_held")
