"""account disabled: operators can switch an account off and on again

Revision ID: 0008_account_disabled
Revises: 0007_sync_held
Create Date: 2026-12-02 12:00:00

``accounts.disabled_at`` is set by ``flask users disable``: the account's sessions are
ended and signing in is refused; ``flask users enable`` clears it. A plain ADD/DROP
COLUMN on both backends (no SQLite table rebuild, so the sync triggers stay).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.core.db

revision: str = "0008_account_disabled"
down_revision: str | Sequence[str] | None = "0007_sync_held"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("disabled_at", api.core.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "disabled_at")
