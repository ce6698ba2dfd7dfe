"""Our directory rows as HSDS 3.0 objects (the shapes of ``schema/service.json`` and
friends in the HSDS 3.0 specification).

Only fields we model are emitted; a field whose value is missing is left out (the schemas
type every field as a plain string or number, so ``null`` would not validate), and lists
of things we do not model (contacts, funding, programs...) are empty. Reentry facts, kept
as service columns, come out as attributes under the ``homeward-reentry`` taxonomy (see
``resources.search.reentry_terms``); service categories are the ``attributes`` rows linked to the
service.

The batch functions load every child of the given records in a few ``IN`` queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.core.db import in_chunks
from resources.hsds.fields import plain, row_fields
from resources.models import (
    Address,
    Attribute,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from resources.search import reentry_terms


def taxonomy_to_hsds(taxonomy: Taxonomy) -> dict[str, Any]:
    """An HSDS taxonomy object."""
    return {**row_fields("taxonomies", taxonomy), "description": taxonomy.description or ""}


def taxonomy_term_to_hsds(term: TaxonomyTerm, taxonomy: Taxonomy | None = None) -> dict[str, Any]:
    """An HSDS taxonomy_term object (with ``taxonomy_detail`` when the taxonomy is given)."""
    found = {**row_fields("taxonomy_terms", term), "description": term.description or ""}
    if taxonomy is not None:
        found["taxonomy_detail"] = taxonomy_to_hsds(taxonomy)
    return found


def _in(column: Any, ids: Iterable[str | None]) -> list[Any]:
    """Chunks of ``column IN ids`` conditions (none when there are no ids). Ids come from
    nullable links (a term without a taxonomy, an attribute without a term): None is left
    out, since it matches nothing and cannot be sorted with strings."""
    return [column.in_(chunk) for chunk in in_chunks(sorted({i for i in ids if i is not None}))]


def _load(db: Session, model: Any, *pairs: tuple[Any, Iterable[str | None]]) -> list[Any]:
    conditions = [c for column, ids in pairs for c in _in(column, ids)]
    if not conditions:
        return []
    return list(db.scalars(select(model).where(or_(*conditions)).order_by(model.id)))


class _Graph:
    """Every child of some services, organizations and locations, grouped by parent."""

    def __init__(
        self,
        db: Session,
        service_ids: Iterable[str] = (),
        organization_ids: Iterable[str] = (),
        location_ids: Iterable[str] = (),
    ) -> None:
        self.service_ids = set(service_ids)
        organization_ids = set(organization_ids)
        self.sals = _load(db, ServiceAtLocation, (ServiceAtLocation.service_id, self.service_ids))
        sal_ids = {s.id for s in self.sals}
        location_ids = set(location_ids) | {s.location_id for s in self.sals}
        self.locations = {x.id: x for x in _load(db, Location, (Location.id, location_ids))}
        self.organizations = {
            x.id: x for x in _load(db, Organization, (Organization.id, organization_ids))
        }
        self._load_children(db, organization_ids, location_ids, sal_ids)
        self._load_terms(db)
        self.by: dict[tuple[str, str], dict[str, list[Any]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for kind, rows, columns in (
            ("phones", self.phones, PARENTS_PHONE),
            ("schedules", self.schedules, PARENTS_SCHEDULE),
            ("languages", self.languages, ("service_id", "location_id", "phone_id")),
            ("addresses", self.addresses, ("location_id",)),
            ("attributes", self.attributes, ("link_id",)),
        ):
            for row in rows:
                for column in columns:
                    parent = getattr(row, column)
                    if parent is not None:
                        self.by[(kind, column)][parent].append(row)

    def _load_children(
        self, db: Session, organization_ids: set[str], location_ids: set[str], sal_ids: set[str]
    ) -> None:
        """Phones, schedules, languages, addresses and attributes of every parent."""
        self.phones = _load(
            db,
            Phone,
            (Phone.service_id, self.service_ids),
            (Phone.service_at_location_id, sal_ids),
            (Phone.location_id, location_ids),
            (Phone.organization_id, organization_ids),
        )
        self.schedules = _load(
            db,
            Schedule,
            (Schedule.service_id, self.service_ids),
            (Schedule.service_at_location_id, sal_ids),
            (Schedule.location_id, location_ids),
        )
        self.languages = _load(
            db,
            Language,
            (Language.service_id, self.service_ids),
            (Language.location_id, location_ids),
            (Language.phone_id, {p.id for p in self.phones}),
        )
        self.addresses = _load(db, Address, (Address.location_id, location_ids))
        linked = self.service_ids | organization_ids | location_ids | sal_ids
        self.attributes = _load(db, Attribute, (Attribute.link_id, linked))

    def _load_terms(self, db: Session) -> None:
        """The taxonomy terms of the attributes, and their taxonomies."""
        self.terms = {
            t.id: t
            for t in _load(
                db, TaxonomyTerm, (TaxonomyTerm.id, {a.taxonomy_term_id for a in self.attributes})
            )
        }
        self.taxonomies = {
            t.id: t
            for t in _load(
                db, Taxonomy, (Taxonomy.id, {t.taxonomy_id for t in self.terms.values()})
            )
        }

    def children(self, kind: str, column: str, parent_id: str) -> list[Any]:
        return self.by[(kind, column)].get(parent_id, [])

    def language(self, row: Language) -> dict[str, Any]:
        return row_fields("languages", row)

    def phone(self, row: Phone) -> dict[str, Any]:
        languages = self.children("languages", "phone_id", row.id)
        return {
            **row_fields("phones", row),
            "languages": [self.language(x) for x in languages],
            "attributes": [],
        }

    def attribute(self, row: Attribute) -> dict[str, Any]:
        found = row_fields("attributes", row)
        term = self.terms.get(row.taxonomy_term_id or "")
        if term is not None:
            found["taxonomy_term"] = taxonomy_term_to_hsds(
                term, self.taxonomies.get(term.taxonomy_id or "")
            )
        return found

    def _own(self, kind: str, column: str, parent_id: str, make: Any) -> list[dict[str, Any]]:
        return [make(x) for x in self.children(kind, column, parent_id)]

    def location(self, row: Location) -> dict[str, Any]:
        return {
            **row_fields("locations", row),
            "languages": self._own("languages", "location_id", row.id, self.language),
            "addresses": [
                row_fields("addresses", x)
                for x in self.children("addresses", "location_id", row.id)
            ],
            "contacts": [],
            "accessibility": [],
            "phones": self._own("phones", "location_id", row.id, self.phone),
            "schedules": [
                row_fields("schedules", x)
                for x in self.children("schedules", "location_id", row.id)
            ],
            "attributes": self._own("attributes", "link_id", row.id, self.attribute),
        }

    def service_at_location(self, row: ServiceAtLocation) -> dict[str, Any]:
        found = {
            **row_fields("service_at_location", row),
            "contacts": [],
            "phones": self._own("phones", "service_at_location_id", row.id, self.phone),
            "schedules": [
                row_fields("schedules", x)
                for x in self.children("schedules", "service_at_location_id", row.id)
            ],
            "attributes": self._own("attributes", "link_id", row.id, self.attribute),
        }
        location = self.locations.get(row.location_id)
        if location is not None:
            found["location"] = self.location(location)
        return found

    def organization(self, row: Organization, locations: Sequence[Location]) -> dict[str, Any]:
        return {
            **row_fields("organizations", row),
            "description": row.description or "",
            "funding": [],
            "contacts": [],
            "phones": self._own("phones", "organization_id", row.id, self.phone),
            "locations": [self.location(x) for x in locations],
            "programs": [],
            "organization_identifiers": [],
            "attributes": self._own("attributes", "link_id", row.id, self.attribute),
        }

    def service(self, row: Service, organization: dict[str, Any] | None) -> dict[str, Any]:
        found = row_fields("services", row)
        found["last_modified"] = plain(row.updated_at)
        found.update(
            phones=self._own("phones", "service_id", row.id, self.phone),
            schedules=[
                row_fields("schedules", x) for x in self.children("schedules", "service_id", row.id)
            ],
            service_areas=[],
            service_at_locations=[
                self.service_at_location(x) for x in self.sals if x.service_id == row.id
            ],
            languages=self._own("languages", "service_id", row.id, self.language),
            funding=[],
            cost_options=[],
            required_documents=[],
            contacts=[],
            attributes=[
                *self._own("attributes", "link_id", row.id, self.attribute),
                *reentry_attributes(row),
            ],
        )
        if organization is not None:
            found["organization"] = organization
        return found


PARENTS_PHONE = ("service_id", "service_at_location_id", "location_id", "organization_id")
PARENTS_SCHEDULE = ("service_id", "service_at_location_id", "location_id")


def reentry_attributes(service: Service) -> list[dict[str, Any]]:
    """The service's reentry facts as HSDS attributes of the homeward-reentry taxonomy."""
    detail = reentry_terms.taxonomy()
    return [
        {
            "id": reentry_terms.attribute_id(facet, service.id),
            "link_id": service.id,
            "taxonomy_term_id": reentry_terms.term_id(facet),
            "link_type": "reentry_fact",
            "link_entity": "service",
            "value": reentry_terms.value_text(value),
            "taxonomy_term": {**reentry_terms.term(facet), "taxonomy_detail": detail},
        }
        for facet, value in reentry_terms.facts(service)
    ]


def services_to_hsds(db: Session, services: Sequence[Service]) -> list[dict[str, Any]]:
    """Full HSDS service objects (as ``examples/service_full.json``), in the given order;
    each with its organization (phones and attributes; its locations are left out: they
    are in ``organization_to_hsds``), its locations
    through ``service_at_locations``, phones, schedules, languages and attributes."""
    organization_ids = {s.organization_id for s in services}
    graph = _Graph(db, {s.id for s in services}, organization_ids)
    organizations = {oid: graph.organization(org, []) for oid, org in graph.organizations.items()}
    for organization in organizations.values():
        del organization["locations"]  # they are the organization's own export
    return [graph.service(s, organizations.get(s.organization_id)) for s in services]


def service_to_hsds(db: Session, service: Service) -> dict[str, Any]:
    """One full HSDS service object (see ``services_to_hsds``)."""
    return services_to_hsds(db, [service])[0]


def organizations_to_hsds(
    db: Session, organizations: Sequence[Organization]
) -> list[dict[str, Any]]:
    """HSDS organization objects with their phones, attributes, full locations and
    services (each service without its ``organization``, which is this object)."""
    ids = {o.id for o in organizations}
    location_rows = _load(db, Location, (Location.organization_id, ids))
    graph = _Graph(db, (), ids, {x.id for x in location_rows})
    by_org: dict[str, list[Location]] = defaultdict(list)
    for location in location_rows:
        by_org[location.organization_id or ""].append(location)
    services: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = _load(db, Service, (Service.organization_id, ids))
    for row, item in zip(rows, services_to_hsds(db, rows), strict=True):
        del item["organization"]
        services[row.organization_id].append(item)
    return [
        {**graph.organization(o, by_org[o.id]), "services": services[o.id]} for o in organizations
    ]


def organization_to_hsds(db: Session, organization: Organization) -> dict[str, Any]:
    """One HSDS organization object (see ``organizations_to_hsds``)."""
    return organizations_to_hsds(db, [organization])[0]
