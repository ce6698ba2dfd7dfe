"""What search reads, derived from the HSDS rows by ``resources.search.indexing``: each
listing's search text and its weekly opening hours. Never written by hand."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.db import Base
from resources.models import ID


class OpeningHours(Base):
    """Derived from schedules, for search: one weekly range per row, in the place's own
    zone, split at midnight (so Fri 22:00-02:00 is Fri 22:00-24:00 and Sat 00:00-02:00).
    A service's own hours at a location replace the location's hours there."""

    __tablename__ = "opening_hours"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    timezone: Mapped[str] = mapped_column(String(64))
    weekday: Mapped[int] = mapped_column(Integer)  # Monday 0 .. Sunday 6
    opens_minute: Mapped[int] = mapped_column(Integer)  # minutes after local midnight
    closes_minute: Mapped[int] = mapped_column(Integer)  # exclusive; up to 1440

    __table_args__ = (
        Index("ix_opening_hours_service_id", "service_id"),
        Index("ix_opening_hours_lookup", "timezone", "weekday", "opens_minute"),
    )


class SearchDocument(Base):
    """The text a listing is found by, one row per service or job. Indexed per backend
    (PostgreSQL: GIN over to_tsvector('simple', body); SQLite: an FTS5 table kept in step
    by triggers), both created by the migration."""

    __tablename__ = "search_documents"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "service" | "job"
    record_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
