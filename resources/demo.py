"""``flask demo seed``: a directory worth searching for the README's serve command.

Loads the San Mateo County sample (Ohana CSV, bundled in resources/data, BSD-3-Clause,
Code for America), adds a handful of clearly fictional reentry listings (fair-chance
job postings and housing with reentry facts) and loads the shipped starter plan templates
(api/plans/templates). Every id is derived from a fixed name, so
seeding again updates the same rows instead of adding more; posting dates move forward
so the demo jobs never expire.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from importlib import resources as package_files
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.db import commit_session, get_session, utcnow
from api.plans import templates as plan_templates
from resources.hsds.importers import import_paths
from resources.jobs.models import JobPosting
from resources.models import (
    Address,
    Attribute,
    BackgroundCheck,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
    YesNoUnknown,
)
from resources.search import indexing

demo_cli = AppGroup("demo", help="Demonstration data.")
NAMESPACE = uuid.UUID("5b0d3c1e-0c2a-4e53-9a57-6f0e8c7d2a11")
FICTIONAL = "(fictional example)"


def _id(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


ORGANIZATIONS = [
    ("org:second-start", "Second Start Staffing", "A fair-chance staffing agency."),
    ("org:harbor-house", "Harbor House Collective", "Reentry and recovery housing."),
]

HOUSING: list[dict[str, Any]] = [
    {
        "key": "svc:harbor-recovery",
        "organization": "org:harbor-house",
        "name": "Harbor Recovery Residence",
        "description": "Sober living for men and women coming home. People with records "
        "and people on a registry are considered. Shared rooms, house meetings, help "
        "finding work.",
        "facts": {
            "accepts_records": YesNoUnknown.YES,
            "accepts_registrants": YesNoUnknown.YES,
            "recovery_housing": True,
            "narr_level": 2,
            "sobriety_required": True,
            "transitional": True,
            "federally_assisted": False,
            "requires_id": False,
        },
        "place": ("Harbor Recovery Residence", 37.4852, -122.2364, "1200 Example Ave"),
        "categories": ["103-05-04-02"],  # Open Eligibility: Sober Living
        "hours": [("MO,TU,WE,TH,FR", "09:00", "17:00"), ("SA", "10:00", "14:00")],
    },
    {
        "key": "svc:harbor-bridge",
        "organization": "org:harbor-house",
        "name": "Bridge Apartments (transitional)",
        "description": "Up to 24 months of transitional housing with a caseworker. "
        "Records considered case by case; no registrants (federally assisted).",
        "facts": {
            "accepts_records": YesNoUnknown.YES,
            "accepts_registrants": YesNoUnknown.NO,
            "recovery_housing": False,
            "transitional": True,
            "federally_assisted": True,
            "requires_id": True,
        },
        "place": ("Bridge Apartments office", 37.5630, -122.3255, "400 Sample St"),
        "categories": ["103-05-04"],  # Short-Term Housing
        "hours": [("MO,WE,FR", "10:00", "16:00"), ("TU,TH", "12:00", "19:00")],
    },
    {
        "key": "svc:night-shelter",
        "organization": "org:harbor-house",
        "name": "Harbor Night Shelter",
        "description": "Beds for tonight, no ID needed, no background check. Open through "
        "the night.",
        "facts": {
            "accepts_records": YesNoUnknown.YES,
            "accepts_registrants": YesNoUnknown.UNKNOWN,
            "requires_id": False,
        },
        "place": ("Harbor Night Shelter", 37.4636, -122.4286, "77 Harbor Rd"),
        "categories": ["103-01"],  # Emergency Shelter
        "hours": [("MO,TU,WE,TH,FR,SA,SU", "19:00", "07:00")],
    },
]

JOBS: list[tuple[str, str, str, float, float, BackgroundCheck]] = [
    ("job:warehouse", "Warehouse associate", "FULL_TIME", 21.5, 24.0, BackgroundCheck.NONE),
    ("job:kitchen", "Line cook", "PART_TIME", 20.0, 23.0, BackgroundCheck.NONE),
    (
        "job:driver",
        "Delivery driver",
        "FULL_TIME",
        22.0,
        26.0,
        BackgroundCheck.AFTER_CONDITIONAL_OFFER,
    ),
    (
        "job:solar",
        "Solar installer trainee",
        "TEMPORARY",
        19.0,
        22.0,
        BackgroundCheck.AFTER_CONDITIONAL_OFFER,
    ),
]


def _upsert(db: Session, model: type, key: str, **values: Any) -> Any:
    row = db.get(model, _id(key))
    if row is None:
        row = model(id=_id(key), source="homeward-demo", source_id=key)
        db.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    db.flush()
    return row


def _place(db: Session, key: str, organization: str, place: tuple[Any, ...], now: datetime) -> Any:
    name, lat, lng, street = place
    location = _upsert(
        db,
        Location,
        f"{key}:location",
        organization_id=_id(organization),
        name=name,
        latitude=lat,
        longitude=lng,
        timezone="America/Los_Angeles",
        last_verified_at=now,
    )
    _upsert(
        db,
        Address,
        f"{key}:address",
        location_id=location.id,
        address_1=street,
        city="Redwood City",
        state_province="CA",
        postal_code="94063",
        country="US",
        address_type="physical",
    )
    return location


def seed_fictional(db: Session, now: datetime) -> tuple[list[str], list[str]]:
    """The fictional organizations, housing and job postings (made or updated), search
    refreshed for them; returns (service ids, job ids)."""
    for key, name, description in ORGANIZATIONS:
        _upsert(
            db,
            Organization,
            key,
            name=f"{name} {FICTIONAL}",
            description=f"{description} Not a real organization: demonstration data.",
            last_verified_at=now,
        )
    services = [_seed_housing(db, item, now) for item in HOUSING]
    jobs = _seed_jobs(db, now)
    indexing.refresh(db, service_ids=services, job_ids=jobs)
    return services, jobs


def _seed_housing(db: Session, item: dict[str, Any], now: datetime) -> str:
    """One housing listing: its service, place, phone, weekly hours and categories."""
    key = item["key"]
    service = _upsert(
        db,
        Service,
        key,
        organization_id=_id(item["organization"]),
        name=f"{item['name']} {FICTIONAL}",
        description=item["description"],
        status="active",
        last_verified_at=now,
        **item["facts"],
    )
    location = _place(db, key, item["organization"], item["place"], now)
    _upsert(db, ServiceAtLocation, f"{key}:sal", service_id=service.id, location_id=location.id)
    _upsert(db, Phone, f"{key}:phone", service_id=service.id, number="650-555-0100", type="voice")
    for index, (days, opens, closes) in enumerate(item["hours"]):
        _upsert(
            db,
            Schedule,
            f"{key}:hours:{index}",
            location_id=location.id,
            freq="WEEKLY",
            byday=days,
            opens_at=opens,
            closes_at=closes,
        )
    terms = db.scalars(select(TaxonomyTerm).where(TaxonomyTerm.code.in_(item["categories"])))
    for term in terms:
        _upsert(
            db,
            Attribute,
            f"{key}:category:{term.code}",
            link_id=service.id,
            link_entity="service",
            link_type="category",
            taxonomy_term_id=term.id,
        )
    return str(service.id)


def _seed_jobs(db: Session, now: datetime) -> list[str]:
    """The job postings of the fictional staffing agency, each at its own site."""
    jobs = []
    employer = "org:second-start"
    for index, (key, title, kind, low, high, check) in enumerate(JOBS):
        location = _place(
            db,
            key,
            employer,
            (
                f"{title} site",
                37.47 + index * 0.03,
                -122.25 + index * 0.02,
                f"{100 + index} Demo Way",
            ),
            now,
        )
        job = _upsert(
            db,
            JobPosting,
            key,
            organization_id=_id(employer),
            location_id=location.id,
            title=f"{title} {FICTIONAL}",
            description=f"{title} with a fair-chance employer. Training on the job; "
            "people with records are encouraged to apply.",
            date_posted=now.date(),
            valid_through=now + timedelta(days=60),
            employment_type=[kind],
            salary_currency="USD",
            salary_min=low,
            salary_max=high,
            salary_unit="HOUR",
            work_hours="Day shift" if index % 2 == 0 else "Evenings and weekends",
            direct_apply=True,
            education_requirements="No diploma required",
            experience_requirements="None",
            drivers_license_required=key == "job:driver",
            fair_chance=True,
            background_check=check,
            accepts_records=YesNoUnknown.YES,
            last_verified_at=now,
        )
        jobs.append(job.id)
    return jobs


def sample_directory() -> Path:
    return Path(str(package_files.files("resources").joinpath("data/ohana-smc")))


@demo_cli.command("seed")
def seed() -> None:
    """Load the San Mateo County sample, the fictional reentry listings and the starter
    plan templates (again: the same rows are updated, none added)."""
    db, now = get_session(), utcnow()
    summary = import_paths(db, [sample_directory()], source="ohana-smc")
    services, jobs = seed_fictional(db, now)
    plans = Counter(state for _, state in plan_templates.load(db, plan_templates.SHIPPED, now))
    commit_session()
    t = summary.total
    click.echo(
        f"sample directory: {t.read} rows read, {t.created} created, {t.updated} updated, "
        f"{t.unchanged} unchanged, {t.rejected} rejected; "
        f"fictional: {len(services)} housing listings, {len(jobs)} job postings; "
        f"plan templates: {plans['loaded']} loaded, {plans['updated']} updated, "
        f"{plans['unchanged']} unchanged"
    )
