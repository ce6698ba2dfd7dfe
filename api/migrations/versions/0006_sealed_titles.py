"""sealed titles: appointment titles sealed like notes and locations

Revision ID: 0006_sealed_titles
Revises: 0005_sync
Create Date: 2026-11-27 10:00:00
"""

from collections.abc import Sequence

revision: str = "0006_sealed_titles"
down_revision: str | Sequence[str] | None = "0005_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
