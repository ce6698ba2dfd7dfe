"""Directory search: the same answers on SQLite and PostgreSQL.

One query per page, built from the arguments:
- words: PostgreSQL matches the stored ``to_tsvector('simple', body)`` column (GIN-indexed)
  against prefix terms and ranks with ``ts_rank``; SQLite matches the FTS5 table and ranks
  with ``bm25``. Both see the same normalized text (see ``indexing.normalize``), so the
  same records match; only the order of equal ranks may differ;
- point and radius: a bounding box on the indexed latitude/longitude first, then the
  exact great-circle distance (``hw_distance``, SQL on PostgreSQL, Python on SQLite);
  a service's distance is that of its nearest location;
- open now / at: the derived weekly ranges of ``opening_hours``, compared with the local
  weekday and minute of that moment in each zone the directory has;
- categories (a parent term matches its children), languages and the reentry facts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from api.core.errors import Problem
from resources.jobs.models import JobPosting
from resources.models import (
    Attribute,
    Language,
    Location,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    TaxonomyTerm,
)
from resources.search.facets import SERVICE_FACETS
from resources.search.indexing import tokens
from resources.search.models import OpeningHours, SearchDocument

EARTH_RADIUS_M = 6371008.8


@dataclass(frozen=True)
class Point:
    lat: float
    lng: float

    def box(self, radius_m: float) -> tuple[float, float, float, float]:
        """(min lat, max lat, min lng, max lng) around the point, a little generous."""
        dlat = math.degrees(radius_m / EARTH_RADIUS_M) * 1.001
        cos = max(math.cos(math.radians(self.lat)), 1e-6)
        dlng = min(180.0, dlat / cos)
        return self.lat - dlat, self.lat + dlat, self.lng - dlng, self.lng + dlng


def text_match(db: Session, kind: str, words: str) -> Any | None:
    """A subquery (record_id, score) of the documents of ``kind`` matching every word
    (as a prefix). None when the words hold nothing searchable."""
    terms = tokens(words)
    if not terms:
        return None
    if db.get_bind().dialect.name == "postgresql":
        query = " & ".join(f"{t}:*" for t in terms)
        # A generated column made by the migration (PostgreSQL only; not in the model).
        vector: Any = literal_column("search_documents.search_tsv")
        tsquery = func.to_tsquery("simple", query)
        return (
            select(
                SearchDocument.record_id.label("record_id"),
                func.ts_rank(vector, tsquery).label("score"),
            )
            .where(SearchDocument.kind == kind, vector.op("@@")(tsquery))
            .subquery()
        )
    match = " AND ".join(f'"{t}"*' for t in terms)
    return (
        text(
            # LIMIT -1 keeps SQLite from flattening the FTS query into the outer one,
            # where bm25() may not be called.
            "SELECT d.record_id AS record_id, f.score AS score FROM ("
            " SELECT rowid AS rid, -bm25(search_fts) AS score FROM search_fts"
            " WHERE search_fts MATCH :match LIMIT -1"
            ") AS f JOIN search_documents AS d ON d.rowid = f.rid WHERE d.kind = :kind"
        )
        .bindparams(match=match, kind=kind)
        .columns(record_id=String, score=Float)
        .subquery()
    )


def terms_by_code(db: Session, codes: list[str], field: str) -> list[TaxonomyTerm]:
    """Taxonomy terms by code (or id); an unknown one is a 422 naming ``field``."""
    found = db.scalars(
        select(TaxonomyTerm).where(or_(TaxonomyTerm.code.in_(codes), TaxonomyTerm.id.in_(codes)))
    ).all()
    known = {c for term in found for c in (term.code, term.id)}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise Problem(
            422,
            f"There is no category {unknown[0]!r}; see /hsds/taxonomy_terms for the codes.",
            kind="validation-error",
            errors={field: [f"Unknown category: {c}" for c in unknown]},
        )
    return list(found)


def category_paths(db: Session, codes: list[str]) -> list[str]:
    """The paths of the chosen terms: each matches itself and its children."""
    return sorted({term.path for term in terms_by_code(db, codes, "category")})


# The distinct zones of opening_hours by walking the (timezone, ...) index one value at a
# time (a "loose index scan"): a few index probes, where DISTINCT would read every row.
_ZONES = text(
    "WITH RECURSIVE zones(zone) AS ("
    " SELECT min(timezone) FROM opening_hours"
    " UNION ALL"
    " SELECT (SELECT min(timezone) FROM opening_hours WHERE timezone > zones.zone)"
    " FROM zones WHERE zones.zone IS NOT NULL"
    ") SELECT zone FROM zones WHERE zone IS NOT NULL"
)


def time_zones(db: Session) -> list[str]:
    return list(db.scalars(_ZONES))


def open_condition(db: Session, at: datetime, location_id: Any | None) -> ColumnElement[bool]:
    """EXISTS a weekly range covering ``at`` on the place's own clock. The closing minute
    itself is closed."""
    zones = time_zones(db)
    per_zone = []
    for zone in zones:
        local = at.astimezone(ZoneInfo(zone))
        minute = local.hour * 60 + local.minute
        per_zone.append(
            and_(
                OpeningHours.timezone == zone,
                OpeningHours.weekday == local.weekday(),
                OpeningHours.opens_minute <= minute,
                OpeningHours.closes_minute > minute,
            )
        )
    if not per_zone:
        return false()
    where = [OpeningHours.service_id == Service.id, or_(*per_zone)]
    if location_id is not None:
        where.append(
            or_(OpeningHours.location_id == location_id, OpeningHours.location_id.is_(None))
        )
    return exists(select(OpeningHours.id).where(*where))


def near(point: Point, radius: float | None) -> tuple[Any, list[ColumnElement[bool]]]:
    """The exact distance from ``point`` to a Location row, and the conditions of being
    within ``radius`` of it: the indexed bounding box first, then the distance itself."""
    exact = func.hw_distance(Location.latitude, Location.longitude, point.lat, point.lng)
    conditions: list[ColumnElement[bool]] = [Location.latitude.is_not(None)]
    if radius is not None:
        min_lat, max_lat, min_lng, max_lng = point.box(radius)
        conditions += [
            Location.latitude.between(min_lat, max_lat),
            Location.longitude.between(min_lng, max_lng),
            exact <= radius,
        ]
    return exact, conditions


def _page(query: Select[Any], page: int, page_size: int) -> Select[Any]:
    # Not api.core.pagination.paginate: that counts in a second query, and search counts
    # in the page's own query (see _page_with_total), one round trip for the common case.
    return query.limit(page_size).offset((page - 1) * page_size)


def search_services(
    db: Session, args: dict[str, Any], now: datetime
) -> tuple[list[tuple[str, float | None]], int]:
    """Ids of matching services for the page, each with its distance in metres (when a
    point was given), and the total number of matches."""
    point = Point(args["lat"], args["lng"]) if args.get("lat") is not None else None
    radius = args.get("radius_m")
    conditions = _service_filters(db, args)

    distance: Any = cast(null(), Float)
    query = select(Service.id)
    if point is not None:
        query = query.join(ServiceAtLocation, ServiceAtLocation.service_id == Service.id).join(
            Location, Location.id == ServiceAtLocation.location_id
        )
        exact, within = near(point, radius)
        conditions += within
        distance = func.min(exact)
    # open_now=false means "open or not": no filter.
    at = args.get("at") or (now if args.get("open_now") else None)
    if at is not None:
        conditions.append(open_condition(db, at, Location.id if point is not None else None))

    score: Any = literal(0.0, Float)
    words = text_match(db, "service", args["q"]) if args.get("q") else None
    if args.get("q") and words is None:
        return [], 0  # only punctuation: nothing can match
    if words is not None:
        query = query.join(words, words.c.record_id == Service.id)
        score = func.max(words.c.score)

    grouped = (
        query.add_columns(distance.label("distance"), score.label("score"))
        .where(*conditions)
        .group_by(Service.id)
    )
    sort = args.get("sort") or ("relevance" if words is not None else None)
    order = _service_order(sort, words is not None, point is not None, distance, score)
    return _page_with_total(db, grouped, order, args)


def _service_filters(db: Session, args: dict[str, Any]) -> list[ColumnElement[bool]]:
    """Active services with the asked reentry facts, categories and languages."""
    conditions: list[ColumnElement[bool]] = [Service.status == ServiceStatus.ACTIVE]
    for facet in SERVICE_FACETS:
        if args.get(facet) is not None:
            conditions.append(getattr(Service, facet) == args[facet])
    if args.get("background_check"):
        conditions.append(Service.background_check.in_(args["background_check"]))
    if args.get("category"):
        paths = category_paths(db, args["category"])
        conditions.append(
            exists(
                select(Attribute.id)
                .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
                .where(
                    Attribute.link_id == Service.id,
                    Attribute.link_entity == "service",
                    or_(*(TaxonomyTerm.path.startswith(p, autoescape=True) for p in paths)),
                )
            )
        )
    if args.get("language"):
        codes = [c.lower() for c in args["language"]]
        conditions.append(
            exists(
                select(Language.id).where(
                    Language.service_id == Service.id, func.lower(Language.code).in_(codes)
                )
            )
        )
    return conditions


def _service_order(
    sort: str | None, words: bool, point: bool, distance: Any, score: Any
) -> list[Any]:
    if sort == "distance":
        return [distance.asc(), Service.name, Service.id]
    if sort == "relevance" and words:
        return [score.desc(), Service.name, Service.id]
    if sort == "updated":
        return [func.max(Service.updated_at).desc(), Service.id]
    if point:
        return [distance.asc(), Service.name, Service.id]
    return [func.max(Service.name), Service.id]


def _page_with_total(
    db: Session, query: Select[Any], order: list[Any], args: dict[str, Any]
) -> tuple[list[tuple[str, float | None]], int]:
    """One page and the total in one query (a window count over the matches); only a page
    past the end needs a second query to count."""
    counted = query.add_columns(func.count().over().label("total")).order_by(*order)
    rows = db.execute(_page(counted, args["page"], args["page_size"])).all()
    if rows:
        total = int(rows[0].total)
    else:
        total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    return [(row.id, row.distance) for row in rows], total


def search_jobs(
    db: Session, args: dict[str, Any], now: datetime
) -> tuple[list[tuple[str, float | None]], int]:
    """Ids of open job postings for the page, with distance, and the total."""
    point = Point(args["lat"], args["lng"]) if args.get("lat") is not None else None
    radius = args.get("radius_m")
    conditions: list[ColumnElement[bool]] = [
        or_(JobPosting.valid_through.is_(None), JobPosting.valid_through > now)
    ]
    for facet in ("fair_chance", "accepts_records", "drivers_license_required"):
        if args.get(facet) is not None:
            conditions.append(getattr(JobPosting, facet) == args[facet])
    if args.get("background_check"):
        conditions.append(JobPosting.background_check.in_(args["background_check"]))
    query = select(JobPosting.id)
    distance: Any = cast(null(), Float)
    if point is not None:
        query = query.join(Location, Location.id == JobPosting.location_id)
        distance, within = near(point, radius)
        conditions += within
    score: Any = literal(0.0, Float)
    words = text_match(db, "job", args["q"]) if args.get("q") else None
    if args.get("q") and words is None:
        return [], 0
    if words is not None:
        query = query.join(words, words.c.record_id == JobPosting.id)
        score = words.c.score
    query = query.add_columns(distance.label("distance"), score.label("score")).where(*conditions)
    # Employment types are a JSON list: filtered here, on the page's candidates.
    wanted = set(args.get("employment_type") or ())
    sort = args.get("sort") or ("relevance" if words is not None else None)
    if sort == "distance" or (sort is None and point is not None):
        order = [distance.asc(), JobPosting.title, JobPosting.id]
    elif sort == "relevance" and words is not None:
        order = [score.desc(), JobPosting.title, JobPosting.id]
    elif sort == "updated":
        order = [JobPosting.updated_at.desc(), JobPosting.id]
    else:
        order = [JobPosting.date_posted.desc(), JobPosting.id]
    if wanted:
        kept = [
            row
            for row in db.execute(query.add_columns(JobPosting.employment_type).order_by(*order))
            if wanted & set(row.employment_type or ())
        ]
        start = (args["page"] - 1) * args["page_size"]
        return [(r.id, r.distance) for r in kept[start : start + args["page_size"]]], len(kept)
    return _page_with_total(db, query, order, args)
