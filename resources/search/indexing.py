"""What search reads, derived from the HSDS rows: each listing's search text and its
weekly opening hours. Every write to a listing (API, import) calls ``refresh`` for the
services and jobs it touched, in the same transaction."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from api.core.db import in_chunks
from resources.jobs.models import JobPosting
from resources.models import (
    Attribute,
    Location,
    Organization,
    Schedule,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)
from resources.saved.models import SavedListing
from resources.search import hours
from resources.search.models import OpeningHours, SearchDocument

DEFAULT_TIMEZONE = "America/Los_Angeles"


def normalize(text: str) -> str:
    """Lower case, accents removed, whitespace collapsed: the form both the index and
    queries use, so 'Café  Job' and 'cafe job' find the same things on both backends."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", normalize(text))


def directory_timezone() -> str:
    if has_app_context():
        return str(current_app.config.get("DIRECTORY_TIMEZONE", DEFAULT_TIMEZONE))
    return DEFAULT_TIMEZONE


def _put_documents(db: Session, kind: str, texts: dict[str, list[str | None]]) -> None:
    """Write the search text of these records, touching only those that changed."""
    bodies = {rid: normalize(" ".join(p for p in parts if p)) for rid, parts in texts.items()}
    stored = {
        d.record_id: d
        for d in db.scalars(
            select(SearchDocument).where(
                SearchDocument.kind == kind, SearchDocument.record_id.in_(list(bodies))
            )
        )
    }
    for record_id, body in bodies.items():
        document = stored.get(record_id)
        if document is None:
            db.add(SearchDocument(kind=kind, record_id=record_id, body=body))
        elif document.body != body:
            document.body = body


def _schedule_ranges(schedule: Schedule) -> list[hours.WeeklyRange]:
    """Weekly ranges of one schedule row; rows without times or days (closures, notes)
    give none."""
    if not (schedule.opens_at and schedule.closes_at and schedule.byday):
        return []
    if schedule.freq and schedule.freq.upper() != "WEEKLY":
        return []
    try:
        days = hours.parse_byday(schedule.byday)
        opens, closes = hours.parse_clock(schedule.opens_at), hours.parse_clock(schedule.closes_at)
    except ValueError:
        return []  # refused at import or API time; an old bad row opens nothing
    return hours.weekly_ranges(days, opens, closes)


class _ServiceChunk:
    """Everything the derived data of a chunk of services needs, in a few queries."""

    def __init__(self, db: Session, ids: list[str]) -> None:
        self.services = list(db.scalars(select(Service).where(Service.id.in_(ids))))
        self.organizations: dict[str, str] = {
            org_id: name
            for org_id, name in db.execute(
                select(Organization.id, Organization.name).where(
                    Organization.id.in_({s.organization_id for s in self.services})
                )
            )
        }
        self._load_terms(db, ids)
        self._load_places(db, ids)
        self._load_schedules(db, ids)

    def _load_terms(self, db: Session, ids: list[str]) -> None:
        # A service is found by its categories' names and their parents' ("Sober Living"
        # is also "Short-Term Housing", "Residential Housing" and "Housing").
        self.terms: dict[str, list[str]] = defaultdict(list)
        paths: dict[str, list[str]] = defaultdict(list)
        for link_id, term_name, path in db.execute(
            select(Attribute.link_id, TaxonomyTerm.name, TaxonomyTerm.path)
            .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
            .where(Attribute.link_id.in_(ids), Attribute.link_entity == "service")
        ):
            self.terms[link_id].append(term_name)
            paths[link_id].append(path)
        codes = {c for ps in paths.values() for p in ps for c in p.strip("/").split("/") if c}
        names: dict[str, str] = {}
        for chunk in in_chunks(sorted(codes)):
            for code, term_name in db.execute(
                select(TaxonomyTerm.code, TaxonomyTerm.name).where(TaxonomyTerm.code.in_(chunk))
            ):
                if code is not None:
                    names[code] = term_name
        for link_id, service_paths in paths.items():
            own = {c for p in service_paths for c in p.strip("/").split("/") if c}
            self.terms[link_id] += sorted({names[c] for c in own if c in names})

    def _load_places(self, db: Session, ids: list[str]) -> None:
        self.pairs: dict[str, list[tuple[str, str, str, str | None]]] = defaultdict(list)
        for sal_id, service_id, location_id, zone, name in db.execute(
            select(
                ServiceAtLocation.id,
                ServiceAtLocation.service_id,
                Location.id,
                Location.timezone,
                Location.name,
            )
            .join(Location, Location.id == ServiceAtLocation.location_id)
            .where(ServiceAtLocation.service_id.in_(ids))
        ):
            self.pairs[service_id].append((sal_id, location_id, zone, name))

    def _load_schedules(self, db: Session, ids: list[str]) -> None:
        """The services' own schedules, and those of their places (service at location,
        then location), which apply where a service has none of its own there."""
        sal_ids = [p[0] for pairs in self.pairs.values() for p in pairs]
        location_ids = {p[1] for pairs in self.pairs.values() for p in pairs}
        self.service_rows: dict[str, list[Schedule]] = defaultdict(list)
        for row in db.scalars(select(Schedule).where(Schedule.service_id.in_(ids))):
            self.service_rows[row.service_id or ""].append(row)
        self.sal_rows: dict[str, list[Schedule]] = defaultdict(list)
        for chunk in in_chunks(sal_ids):
            for row in db.scalars(
                select(Schedule).where(
                    Schedule.service_at_location_id.in_(chunk), Schedule.service_id.is_(None)
                )
            ):
                self.sal_rows[row.service_at_location_id or ""].append(row)
        self.location_rows: dict[str, list[Schedule]] = defaultdict(list)
        for chunk in in_chunks(sorted(location_ids)):
            for row in db.scalars(
                select(Schedule).where(
                    Schedule.location_id.in_(chunk),
                    Schedule.service_id.is_(None),
                    Schedule.service_at_location_id.is_(None),
                )
            ):
                self.location_rows[row.location_id or ""].append(row)

    def text(self, service: Service) -> list[str | None]:
        return [
            service.name,
            service.alternate_name,
            service.description,
            self.organizations.get(service.organization_id),
            *self.terms.get(service.id, []),
            *(name for _, _, _, name in self.pairs.get(service.id, [])),
        ]

    def opening_hours(self, service: Service) -> list[dict[str, Any]]:
        """Service hours at a location replace the location's own hours there."""
        found: list[dict[str, Any]] = []

        def add(rows: Iterable[Schedule], location_id: str | None, zone: str) -> None:
            for row in rows:
                for r in _schedule_ranges(row):
                    found.append(
                        {
                            "service_id": service.id,
                            "location_id": location_id,
                            "timezone": zone,
                            "weekday": r.weekday,
                            "opens_minute": r.opens,
                            "closes_minute": r.closes,
                        }
                    )

        own_rows = self.service_rows.get(service.id, [])
        pairs = self.pairs.get(service.id, [])
        if not pairs:
            add(own_rows, None, directory_timezone())
            return found
        for sal_id, location_id, zone, _ in pairs:
            own = [
                s
                for s in own_rows
                if s.service_at_location_id == sal_id
                or (s.service_at_location_id is None and s.location_id in (None, location_id))
            ] + self.sal_rows.get(sal_id, [])
            add(own or self.location_rows.get(location_id, []), location_id, zone)
        return found


def refresh(db: Session, service_ids: Iterable[str] = (), job_ids: Iterable[str] = ()) -> None:
    """Rebuild the search text and opening hours of these services, and the search text
    of these jobs. Deleted records lose theirs."""
    service_ids, job_ids = sorted(set(service_ids)), sorted(set(job_ids))
    db.flush()
    _mark_unsynced(db, service_ids, job_ids)
    for chunk in in_chunks(service_ids):
        _refresh_services(db, chunk)
    for chunk in in_chunks(job_ids):
        _refresh_jobs(db, chunk)
    db.flush()


def _mark_unsynced(db: Session, service_ids: list[str], job_ids: list[str]) -> None:
    # Whatever changed a listing (its place, phones, hours) changes its synced summary.
    for chunk in in_chunks(service_ids):
        db.execute(update(Service).where(Service.id.in_(chunk)).values(sync_version=None))
        db.execute(
            update(SavedListing).where(SavedListing.service_id.in_(chunk)).values(sync_version=None)
        )
    for chunk in in_chunks(job_ids):
        db.execute(update(JobPosting).where(JobPosting.id.in_(chunk)).values(sync_version=None))
        db.execute(
            update(SavedListing).where(SavedListing.job_id.in_(chunk)).values(sync_version=None)
        )


def _drop_documents(db: Session, kind: str, gone: set[str]) -> None:
    """Deleted records lose their search text."""
    if gone:
        db.execute(
            delete(SearchDocument).where(
                SearchDocument.kind == kind, SearchDocument.record_id.in_(gone)
            )
        )


def _refresh_services(db: Session, chunk: list[str]) -> None:
    db.execute(delete(OpeningHours).where(OpeningHours.service_id.in_(chunk)))
    loaded = _ServiceChunk(db, chunk)
    gone = set(chunk) - {s.id for s in loaded.services}
    _drop_documents(db, "service", gone)
    _put_documents(db, "service", {s.id: loaded.text(s) for s in loaded.services})
    ranges = [r for s in loaded.services for r in loaded.opening_hours(s)]
    if ranges:
        db.execute(insert(OpeningHours), ranges)


def _refresh_jobs(db: Session, chunk: list[str]) -> None:
    jobs = list(db.scalars(select(JobPosting).where(JobPosting.id.in_(chunk))))
    gone = set(chunk) - {j.id for j in jobs}
    _drop_documents(db, "job", gone)
    organizations = {
        org_id: name
        for org_id, name in db.execute(
            select(Organization.id, Organization.name).where(
                Organization.id.in_({j.organization_id for j in jobs})
            )
        )
    }
    places = {
        location_id: name
        for location_id, name in db.execute(
            select(Location.id, Location.name).where(
                Location.id.in_({j.location_id for j in jobs if j.location_id})
            )
        )
    }
    _put_documents(
        db,
        "job",
        {
            j.id: [
                j.title,
                j.description,
                organizations.get(j.organization_id),
                places.get(j.location_id or ""),
                " ".join(j.employment_type or []).replace("_", " "),
            ]
            for j in jobs
        },
    )


def services_touching(
    db: Session,
    *,
    organization_ids: Iterable[str] = (),
    location_ids: Iterable[str] = (),
) -> list[str]:
    """Services whose derived data depends on these organizations or locations."""
    organization_ids, location_ids = list(organization_ids), list(location_ids)
    conditions = []
    if organization_ids:
        conditions.append(Service.organization_id.in_(organization_ids))
    if location_ids:
        conditions.append(
            Service.id.in_(
                select(ServiceAtLocation.service_id).where(
                    ServiceAtLocation.location_id.in_(location_ids)
                )
            )
        )
    if not conditions:
        return []
    return list(db.scalars(select(Service.id).where(or_(*conditions))))
