"""plans: the member's reentry plan (goals, steps, suggestions) and templates

Revision ID: 0011_plans
Revises: 0010_directory_editors
Create Date: 2026-12-04 10:00:00

New tables ``plan_goals``, ``plan_steps`` and ``plan_suggestions`` (synced: the same
``sync_touch``/``sync_tombstone`` triggers as 0005 gives the other synced tables, deletes
told to the member) and ``plan_templates``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.core.db

revision: str = "0011_plans"
down_revision: str | Sequence[str] | None = "0010_directory_editors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("sync_version IS NULL")
# table -> tombstone name; each is keyed by id and its deletes are told to member_id.
SYNCED = {
    "plan_goals": "plan_goals",
    "plan_steps": "plan_steps",
    "plan_suggestions": "plan_suggestions",
}


def _sync_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("sync_version", sa.BigInteger(), nullable=True),
        sa.Column("sync_created", sa.BigInteger(), nullable=True),
    ]


def _sync_indexes(table: str) -> None:
    op.create_index(
        f"ix_{table}_sync_pending", table, ["id"], sqlite_where=PENDING, postgresql_where=PENDING
    )
    op.create_index(f"ix_{table}_member_id_sync_version", table, ["member_id", "sync_version"])


def _triggers(table: str, name: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_sync_touch BEFORE INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION homeward_sync_touch()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_sync_tombstone AFTER DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION homeward_sync_tombstone('{name}', 'id', 'member_id')"
        )
        return
    op.execute(
        f"CREATE TRIGGER {table}_sync_touch AFTER UPDATE ON {table} FOR EACH ROW "  # noqa: S608 (names from constants)
        "WHEN NEW.sync_version IS OLD.sync_version AND NEW.sync_version IS NOT NULL "
        f"BEGIN UPDATE {table} SET sync_version = NULL WHERE id = NEW.id; END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_sync_insert AFTER INSERT ON {table} FOR EACH ROW "  # noqa: S608 (names from constants)
        "WHEN NEW.sync_version IS NOT NULL "
        f"BEGIN UPDATE {table} SET sync_version = NULL WHERE id = NEW.id; END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_sync_tombstone AFTER DELETE ON {table} FOR EACH ROW "
        "BEGIN INSERT INTO sync_tombstones (table_name, record_id, account_id) "
        f"SELECT '{name}', OLD.id, OLD.member_id WHERE OLD.member_id IS NOT NULL; END"
    )


def _fk(column: str, target: str, table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    utc = api.core.db.UTCDateTime
    op.create_table(
        "plan_templates",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_templates")),
    )
    op.create_table(
        "plan_goals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        *_sync_columns(),
        _fk("member_id", "accounts", "plan_goals", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_goals")),
    )
    op.create_index("ix_plan_goals_member_id_position", "plan_goals", ["member_id", "position"])
    _sync_indexes("plan_goals")
    op.create_table(
        "plan_steps",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("goal_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("bring", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("due_time", sa.Time(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("remind", sa.Boolean(), nullable=False),
        sa.Column("reminder_offsets", sa.JSON(), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.String(length=100), nullable=True),
        sa.Column("appointment_id", sa.String(length=64), nullable=True),
        sa.Column("directory_query", sa.JSON(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        *_sync_columns(),
        _fk("goal_id", "plan_goals", "plan_steps", "CASCADE"),
        _fk("member_id", "accounts", "plan_steps", "CASCADE"),
        _fk("appointment_id", "appointments", "plan_steps", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_steps")),
    )
    op.create_index("ix_plan_steps_goal_id_position", "plan_steps", ["goal_id", "position"])
    op.create_index("ix_plan_steps_appointment_id", "plan_steps", ["appointment_id"])
    _sync_indexes("plan_steps")
    op.create_table(
        "plan_suggestions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("mentor_id", sa.String(length=36), nullable=True),
        sa.Column("grant_id", sa.String(length=36), nullable=True),
        sa.Column("goal_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("decided_at", utc(), nullable=True),
        sa.Column("updated_at", utc(), nullable=False),
        *_sync_columns(),
        _fk("member_id", "accounts", "plan_suggestions", "CASCADE"),
        _fk("mentor_id", "accounts", "plan_suggestions", "SET NULL"),
        _fk("grant_id", "grants", "plan_suggestions", "SET NULL"),
        _fk("goal_id", "plan_goals", "plan_suggestions", "SET NULL"),
        _fk("step_id", "plan_steps", "plan_suggestions", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_suggestions")),
    )
    op.create_index(
        "ix_plan_suggestions_member_id_created_at", "plan_suggestions", ["member_id", "created_at"]
    )
    op.create_index("ix_plan_suggestions_mentor_id", "plan_suggestions", ["mentor_id"])
    _sync_indexes("plan_suggestions")
    for table, name in SYNCED.items():
        _triggers(table, name)


def downgrade() -> None:
    op.execute(
        "DELETE FROM sync_tombstones WHERE table_name IN "
        "('plan_goals', 'plan_steps', 'plan_suggestions')"
    )
    for table in ("plan_suggestions", "plan_steps", "plan_goals", "plan_templates"):
        op.drop_table(table)
