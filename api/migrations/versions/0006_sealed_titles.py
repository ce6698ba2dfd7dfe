"""sealed titles: appointment titles sealed like notes and locations

Revision ID: 0006_sealed_titles
Revises: 0005_sync
Create Date: 2026-11-27 10:00:00

An appointment's title is free text the member wrote ("Court date: see PO about
probation"). The column becomes TEXT (a sealed 200-character title is far longer than
200), and every stored title is sealed under its member's data key, with the same
associated data as the app uses (member | appointments | title | row id). The downgrade
opens them again and restores VARCHAR(200). Needs the app's keyring: run through
`flask db upgrade`.

Sealing changes no title a phone holds, so each row keeps its sync_version (the sync
triggers of 0005 would otherwise mark every appointment changed). On SQLite the column
type is changed by rebuilding the table, which drops its triggers and partial indexes:
they are read from sqlite_master first and created again afterwards.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006_sealed_titles"
down_revision: str | Sequence[str] | None = "0005_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500


def _retype_title(new_type: sa.types.TypeEngine[str], old_type: sa.types.TypeEngine[str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column("appointments", "title", type_=new_type, existing_type=old_type)
        return
    # The rebuild (copy, drop, rename) loses triggers and partial indexes: keep their SQL.
    kept = bind.execute(
        sa.text(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'appointments' "
            "AND type IN ('trigger', 'index') AND sql IS NOT NULL ORDER BY type, name"
        )
    ).all()
    for row in kept:
        op.execute(f"DROP {row.type.upper()} {row.name}")
    with op.batch_alter_table("appointments") as batch:
        batch.alter_column("title", type_=new_type, existing_type=old_type, existing_nullable=False)
    for row in kept:
        op.execute(row.sql)


def _convert_titles(*, seal: bool) -> None:
    """Seal every plaintext title (or, going down, open every sealed one), in batches."""
    from flask import current_app
    from sqlalchemy.orm import Session

    from api.core.crypto.vault import PREFIX, Vault

    bind = op.get_bind()
    vault: Vault | None = None
    last = ""
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, member_id, title, sync_version FROM appointments "
                "WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        last = rows[-1].id
        if vault is None:
            vault = Vault(Session(bind=bind), current_app.extensions["homeward.keyring"])
        for row in rows:
            where = (row.member_id, "appointments", "title", row.id)
            if seal:
                if _sealed(vault, where, row.title):
                    continue
                value = vault.seal(*where, row.title)
            else:
                if not row.title.startswith(PREFIX):
                    continue
                value = vault.open(*where, row.title)
            bind.execute(
                sa.text("UPDATE appointments SET title = :title WHERE id = :id"),
                {"title": value, "id": row.id},
            )
            # The update's trigger marked the row changed for sync; nothing a phone holds
            # changed, so its version comes back (a change of sync_version fires nothing).
            bind.execute(
                sa.text("UPDATE appointments SET sync_version = :version WHERE id = :id"),
                {"version": row.sync_version, "id": row.id},
            )


def _sealed(vault: Any, where: tuple[str, str, str, str], title: str) -> bool:
    """Sealed already? A plaintext title that merely starts like ciphertext is not."""
    from api.core.crypto.vault import PREFIX, DecryptionError

    if not title.startswith(PREFIX):
        return False
    try:
        vault.open(*where, title)
    except DecryptionError:
        return False
    return True


def upgrade() -> None:
    _retype_title(sa.Text(), sa.String(length=200))
    _convert_titles(seal=True)


def downgrade() -> None:
    _convert_titles(seal=False)
    _retype_title(sa.String(length=200), sa.Text())
