"""A member's reentry plan: goals, their steps, mentors' suggestions, and the starter
templates a member may adopt. Free text (titles, why, notes, bring) is sealed with the
member's data key; templates are public text shipped with the project."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from api.core.crypto.sealed import SealedText
from api.core.db import Base, TimestampMixin, UTCDateTime, new_id, str_enum, utcnow
from api.sync.models import SyncTracked, sync_indexes


class Area(enum.StrEnum):
    ID_DOCUMENTS = "id_documents"
    HOUSING = "housing"
    WORK = "work"
    BENEFITS = "benefits"
    HEALTH = "health"
    LEGAL = "legal"
    FAMILY = "family"
    TRANSPORT = "transport"
    EDUCATION = "education"
    MONEY = "money"
    SUPERVISION = "supervision"
    OTHER = "other"


class GoalStatus(enum.StrEnum):
    ACTIVE = "active"
    DONE = "done"
    DROPPED = "dropped"


class StepStatus(enum.StrEnum):
    TODO = "todo"
    DOING = "doing"
    DONE = "done"
    BLOCKED = "blocked"
    SKIPPED = "skipped"


# A step in these states still gets its reminders; done or skipped cancels them.
REMINDABLE_STEPS = (StepStatus.TODO, StepStatus.DOING, StepStatus.BLOCKED)


class SuggestionStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class PlanGoal(SyncTracked, TimestampMixin, Base):
    __tablename__ = "plan_goals"

    # Client-supplied (made offline on the phone) or generated.
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    area: Mapped[Area] = mapped_column(str_enum(Area, "plan_area"))
    # The member's own words, titles included ("Sort out my PO's conditions"): ciphertext.
    title_sealed: Mapped[str] = mapped_column("title", Text)
    why_sealed: Mapped[str | None] = mapped_column("why", Text)
    status: Mapped[GoalStatus] = mapped_column(
        str_enum(GoalStatus, "plan_goal_status"), default=GoalStatus.ACTIVE
    )
    target_date: Mapped[date | None] = mapped_column(Date)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The template it was adopted from, if any: a label only, the goal is the member's.
    template_id: Mapped[str | None] = mapped_column(String(64))

    title = SealedText("title_sealed")
    why = SealedText("why_sealed")

    __table_args__ = (
        Index("ix_plan_goals_member_id_position", "member_id", "position"),
        *sync_indexes("plan_goals", "member_id"),
    )


class PlanStep(SyncTracked, TimestampMixin, Base):
    __tablename__ = "plan_steps"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    goal_id: Mapped[str] = mapped_column(ForeignKey("plan_goals.id", ondelete="CASCADE"))
    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    title_sealed: Mapped[str] = mapped_column("title", Text)
    notes_sealed: Mapped[str | None] = mapped_column("notes", Text)
    # What to take along, a JSON list of short strings, sealed as one text.
    bring_sealed: Mapped[str | None] = mapped_column("bring", Text)
    status: Mapped[StepStatus] = mapped_column(
        str_enum(StepStatus, "plan_step_status"), default=StepStatus.TODO
    )
    # Local date, optional local time, and the IANA zone they are in (local stays local).
    due_date: Mapped[date | None] = mapped_column(Date)
    due_time: Mapped[time | None] = mapped_column(Time)
    timezone: Mapped[str | None] = mapped_column(String(64))
    remind: Mapped[bool] = mapped_column(Boolean, default=False)
    # As an appointment's: offsets such as "1d@10:00", channels push/sms. Null: defaults.
    reminder_offsets: Mapped[list[str] | None] = mapped_column(JSON)
    channels: Mapped[list[str] | None] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Optional links: a directory listing (a service or a job posting id; it may leave
    # the directory, so no foreign key) and one of the member's own appointments.
    listing_id: Mapped[str | None] = mapped_column(String(100))
    appointment_id: Mapped[str | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    # From a template step: what to look for in the directory (categories, facets).
    directory_query: Mapped[dict[str, object] | None] = mapped_column(JSON)

    title = SealedText("title_sealed")
    notes = SealedText("notes_sealed")
    bring_text = SealedText("bring_sealed")

    __table_args__ = (
        Index("ix_plan_steps_goal_id_position", "goal_id", "position"),
        Index("ix_plan_steps_appointment_id", "appointment_id"),
        *sync_indexes("plan_steps", "member_id"),
    )


class PlanSuggestion(SyncTracked, Base):
    """A step a mentor proposes. It changes nothing until the member accepts it (then it
    becomes a step of the goal the member picks) or declines it (and it stays declined).
    Sealed under the member's key: it is part of the member's record."""

    __tablename__ = "plan_suggestions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    member_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # The mentor may erase their own account; the member keeps the suggestion.
    mentor_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    grant_id: Mapped[str | None] = mapped_column(ForeignKey("grants.id", ondelete="SET NULL"))
    # The goal the mentor had in mind, if any; the member picks on accepting.
    goal_id: Mapped[str | None] = mapped_column(ForeignKey("plan_goals.id", ondelete="SET NULL"))
    title_sealed: Mapped[str] = mapped_column("title", Text)
    notes_sealed: Mapped[str | None] = mapped_column("notes", Text)
    status: Mapped[SuggestionStatus] = mapped_column(
        str_enum(SuggestionStatus, "plan_suggestion_status"), default=SuggestionStatus.PENDING
    )
    # The step it became, once accepted.
    step_id: Mapped[str | None] = mapped_column(ForeignKey("plan_steps.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    title = SealedText("title_sealed")
    notes = SealedText("notes_sealed")

    __table_args__ = (
        Index("ix_plan_suggestions_member_id_created_at", "member_id", "created_at"),
        Index("ix_plan_suggestions_mentor_id", "mentor_id"),
        *sync_indexes("plan_suggestions", "member_id"),
    )


class PlanTemplate(Base):
    """A starter plan shipped as a data file (api/plans/templates/*.json) or loaded by an
    operator (`flask plans templates load PATH`). ``content`` is the file as loaded: the
    goal and its steps in every language it has; ``digest`` makes loading idempotent."""

    __tablename__ = "plan_templates"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    area: Mapped[Area] = mapped_column(str_enum(Area, "plan_area"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[dict[str, object]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
