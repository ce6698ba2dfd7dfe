"""step reminders: plan steps get reminders through the outbox; appointments get `bring`

Revision ID: 0012_step_reminders
Revises: 0011_plans
Create Date: 2026-12-02 17:30:00

``reminder_deliveries.step_id`` names the plan step a ``step_reminder`` notice is about
(deleting the step deletes its deliveries), keyed once per (step, occurrence, offset,
channel) by a unique index. ``appointments.bring`` holds what to take along, sealed.
Both are plain ADD COLUMNs: no table is rebuilt, so the synced tables keep their triggers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_step_reminders"
down_revision: str | Sequence[str] | None = "0011_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "reminder_deliveries"
STEP_KEY = ["step_id", "occurrence_local", "offset_key", "channel"]


def upgrade() -> None:
    op.add_column("appointments", sa.Column("bring", sa.Text(), nullable=True))
    # On SQLite the batch copies the table (it has no triggers: its sync stamps are set
    # on request), which is how a named foreign key is added there.
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("step_id", sa.String(64), nullable=True))
        batch.create_foreign_key(
            "fk_reminder_deliveries_step_id_plan_steps",
            "plan_steps",
            ["step_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_index("uq_reminder_deliveries_step_key", "reminder_deliveries", STEP_KEY, unique=True)


def downgrade() -> None:
    op.drop_index("uq_reminder_deliveries_step_key", table_name="reminder_deliveries")
    with op.batch_alter_table("reminder_deliveries") as batch:
        batch.drop_column("step_id")
    op.drop_column("appointments", "bring")
