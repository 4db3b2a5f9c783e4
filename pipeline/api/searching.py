"""`api.search` and its answer, in a module of their own: `yuetan search` starts in a fresh process each time, and
loads only this (the index, the catalog) rather than every operation and answer of the core API."""
from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING

from pydantic import ConfigDict, Field

from archive_store.errors import InvalidArgument
from pipeline.api.base import ApiModel

if TYPE_CHECKING:
    from archive_store.actors import Actor
    from archive_store.home import ArchiveHome

log = logging.getLogger("pipeline.api.archive")


class SearchHit(ApiModel):
    model_config = ConfigDict(extra="allow")

    case_id: str
    notice_number: str
    target: str
    interview_on: date
    outcome: str
    score: float
    snippets: list[str]
    target_kind: str = ""
    grounds: list[str] = Field(default_factory=list)
    archival_code: str | None = None

    @property
    def outcome_label(self) -> str:
        from pipeline.case.outcomes import OUTCOME_LABELS

        return next((label for key, label in OUTCOME_LABELS.items() if key.value == self.outcome), self.outcome)


class SearchResult(ApiModel):
    """`yuetan search --json`. `facets` (counts by kind, ground item, region, year, outcome for the same query and
    filters: facet name → value → count) is left out when the search did not compute it."""

    _omit_if_none = frozenset({"facets"})

    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] | None = None


def search(home: ArchiveHome, query: str = "", *, actor: Actor, kind: str | None = None, ground: str | None = None,
           organizer: str | None = None, region: str | None = None, outcome: str | None = None,
           date_from=None, date_to=None, limit: int = 20, offset: int = 0) -> SearchResult:
    """Ranked cases for `query` within the filters (the same filters as export): the page [offset, offset + limit),
    the exact total, and the facet counts of every match. A lost index is said, not an empty answer."""
    from pipeline.records import lookup

    log.debug("%s（%s）检索 %r", actor.name, actor.role, query)
    if offset < 0:
        raise InvalidArgument(f"起始位置 {offset} 无效：应不小于 0")
    found = lookup.search_archive(home, query or "", kind=kind, ground=ground, organizer=organizer, region=region,
                                  outcome=outcome, date_from=date_from, date_to=date_to, limit=limit, offset=offset)
    data = found.as_dict()
    hits = [SearchHit(**h) for h in data["hits"]]
    if hits:
        codes = home.current_archival_codes([hit.case_id for hit in hits])
        for hit in hits:
            hit.archival_code = codes.get(hit.case_id)
    return SearchResult(total=data["total"], hits=hits, facets=data.get("facets"))
