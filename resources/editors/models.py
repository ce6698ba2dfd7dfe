"""The binding of a staff (or admin) account to the organization whose listings it edits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base, UTCDateTime, utcnow


class DirectoryEditor(Base):
    """At most one organization per account (the primary key): a staff account edits
    exactly one organization's listings, and ``flask users bind`` replaces it."""

    __tablename__ = "directory_editors"

    # Erasing the account erases its binding with it.
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    # An organization leaving the directory unbinds its staff: they can do nothing until an
    # operator binds them to another (the account itself stays).
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The cascade from organizations looks its editors up by organization.
    __table_args__ = (Index("ix_directory_editors_organization_id", "organization_id"),)
