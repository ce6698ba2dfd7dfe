"""sync: change clock, row versions and their triggers, tombstones, push receipts, areas

Revision ID: 0005_sync
Revises: 0004_directory
Create Date: 2026-11-25 20:20:00

Every tracked table gains sync_version and sync_created. Triggers set sync_version to
NULL on every insert or update (whoever writes: ORM, bulk statements, cascades) and write
a tombstone on every delete; api/sync/tracking.py stamps pending rows at commit. Rows
that exist already are stamped 1, so a first sync sends them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.core.db

revision: str = "0005_sync"
down_revision: str | Sequence[str] | None = "0004_directory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (key column, tombstone table name, audience columns: who is told of a delete)
TRACKED: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "appointments": ("id", "appointments", ("member_id",)),
    "checkins": ("id", "checkins", ("member_id",)),
    "checkin_responses": ("id", "checkin_responses", ("member_id",)),
    "saved_listings": ("id", "saved_resources", ("account_id",)),
    "grants": ("id", "grants", ("member_id", "mentor_id")),
    "services": ("id", "resources", ()),
    "job_postings": ("id", "resources", ()),
    "sync_member_areas": ("account_id", "sync_area", ("account_id",)),
}
OWNERS = {
    "appointments": "member_id",
    "checkins": "member_id",
    "checkin_responses": "member_id",
    "saved_listings": "account_id",
}
PENDING = sa.text("sync_version IS NULL")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _add_columns(table: str, key: str) -> None:
    op.add_column(table, sa.Column("sync_version", sa.BigInteger(), nullable=True))
    op.add_column(table, sa.Column("sync_created", sa.BigInteger(), nullable=True))
    op.execute(f"UPDATE {table} SET sync_version = 1, sync_created = 1")  # noqa: S608 (names from constants)
    op.create_index(
        f"ix_{table}_sync_pending", table, [key], sqlite_where=PENDING, postgresql_where=PENDING
    )
    owner = OWNERS.get(table)
    if owner:
        op.create_index(f"ix_{table}_{owner}_sync_version", table, [owner, "sync_version"])
    else:
        op.create_index(f"ix_{table}_sync_version", table, ["sync_version"])


def _postgresql_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION homeward_sync_touch() RETURNS trigger AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            NEW.sync_version := NULL;
          ELSIF NEW.sync_version IS NOT DISTINCT FROM OLD.sync_version THEN
            NEW.sync_version := NULL;
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql
        """
    )
    # Arguments: tombstone table name, key column, then the audience columns.
    op.execute(
        """
        CREATE FUNCTION homeward_sync_tombstone() RETURNS trigger AS $$
        DECLARE
          old_row jsonb := to_jsonb(OLD);
        BEGIN
          IF TG_NARGS = 2 THEN
            INSERT INTO sync_tombstones (table_name, record_id, account_id)
            VALUES (TG_ARGV[0], old_row ->> TG_ARGV[1], NULL);
          ELSE
            FOR i IN 2 .. TG_NARGS - 1 LOOP
              IF old_row ->> TG_ARGV[i] IS NOT NULL THEN
                INSERT INTO sync_tombstones (table_name, record_id, account_id)
                VALUES (TG_ARGV[0], old_row ->> TG_ARGV[1], old_row ->> TG_ARGV[i]);
              END IF;
            END LOOP;
          END IF;
          RETURN OLD;
        END $$ LANGUAGE plpgsql
        """
    )
    for table, (key, name, audience) in TRACKED.items():
        op.execute(
            f"CREATE TRIGGER {table}_sync_touch BEFORE INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION homeward_sync_touch()"
        )
        arguments = ", ".join(f"'{a}'" for a in (name, key, *audience))
        op.execute(
            f"CREATE TRIGGER {table}_sync_tombstone AFTER DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION homeward_sync_tombstone({arguments})"
        )


def _sqlite_triggers() -> None:
    for table, (key, name, audience) in TRACKED.items():
        # SQLite triggers cannot change NEW; the inner UPDATE does not fire this trigger
        # again (recursive triggers are off).
        op.execute(
            f"CREATE TRIGGER {table}_sync_touch AFTER UPDATE ON {table} FOR EACH ROW "  # noqa: S608 (names from constants)
            "WHEN NEW.sync_version IS OLD.sync_version AND NEW.sync_version IS NOT NULL "
            f"BEGIN UPDATE {table} SET sync_version = NULL WHERE {key} = NEW.{key}; END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_sync_insert AFTER INSERT ON {table} FOR EACH ROW "  # noqa: S608 (names from constants)
            "WHEN NEW.sync_version IS NOT NULL "
            f"BEGIN UPDATE {table} SET sync_version = NULL WHERE {key} = NEW.{key}; END"
        )
        inserts = " ".join(
            "INSERT INTO sync_tombstones (table_name, record_id, account_id) "
            f"SELECT '{name}', OLD.{key}, OLD.{column} WHERE OLD.{column} IS NOT NULL;"
            for column in audience
        ) or (
            "INSERT INTO sync_tombstones (table_name, record_id, account_id) "  # noqa: S608 (names from constants)
            f"VALUES ('{name}', OLD.{key}, NULL);"
        )
        op.execute(
            f"CREATE TRIGGER {table}_sync_tombstone AFTER DELETE ON {table} FOR EACH ROW "
            f"BEGIN {inserts} END"
        )


def upgrade() -> None:
    op.create_table(
        "sync_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("purged_through", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_clock")),
    )
    op.execute("INSERT INTO sync_clock (id, value, purged_through) VALUES (1, 1, 0)")
    op.create_table(
        "sync_tombstones",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=120), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("sync_version", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_tombstones")),
    )
    op.create_index(
        "ix_sync_tombstones_account_version", "sync_tombstones", ["account_id", "sync_version"]
    )
    op.create_index(
        "ix_sync_tombstones_sync_pending",
        "sync_tombstones",
        ["id"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_table(
        "sync_push_receipts",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("body_digest", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("created_at", api.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sync_push_receipts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "key", name=op.f("pk_sync_push_receipts")),
    )
    op.create_table(
        "sync_member_areas",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("radius_km", sa.Float(), nullable=False),
        sa.Column("updated_at", api.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sync_member_areas_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_sync_member_areas")),
    )
    for table, (key, _name, _audience) in TRACKED.items():
        _add_columns(table, key)
    if _postgresql():
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def downgrade() -> None:
    postgresql = _postgresql()
    for table in TRACKED:
        for suffix in ("touch", "insert", "tombstone"):
            op.execute(
                f"DROP TRIGGER IF EXISTS {table}_sync_{suffix}"
                + (f" ON {table}" if postgresql else "")
            )
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS homeward_sync_touch()")
        op.execute("DROP FUNCTION IF EXISTS homeward_sync_tombstone()")
    for table in TRACKED:
        if table == "sync_member_areas":
            continue
        owner = OWNERS.get(table)
        op.drop_index(
            f"ix_{table}_{owner}_sync_version" if owner else f"ix_{table}_sync_version", table
        )
        op.drop_index(f"ix_{table}_sync_pending", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("sync_created")
            batch.drop_column("sync_version")
    op.drop_table("sync_member_areas")
    op.drop_table("sync_push_receipts")
    op.drop_index("ix_sync_tombstones_sync_pending", "sync_tombstones")
    op.drop_index("ix_sync_tombstones_account_version", "sync_tombstones")
    op.drop_table("sync_tombstones")
    op.drop_table("sync_clock")
