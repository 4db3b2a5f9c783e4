"""The interface every search engine implements: index one case, remove one case, list the indexed cases,
build a whole index, and answer a `Plan` with the total, one page of hits and the facet counts.

Engines get the terms already made (`IndexedFields`) and plans already made (`pipeline.search.query`), so what
is found and in which order is decided once, above them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from pipeline.search.document import IndexedFields
from pipeline.search.query import Plan

FACETS = {"kind": "target_kind", "ground": "grounds", "region": "region", "year": "year", "outcome": "outcome"}


@dataclass
class RawHit:
    hit: dict                  # the stored hit fields (case_id, notice_number, target, ...)
    score: float
    snippet_source: bytes


@dataclass
class RawResults:
    total: int
    hits: list[RawHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class SearchIndex(ABC):
    """One open index folder of one engine."""

    name: ClassVar[str]

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @classmethod
    @abstractmethod
    def create(cls, folder: Path) -> "SearchIndex":
        """A new empty index in the (existing, empty) folder."""

    @classmethod
    @abstractmethod
    def open(cls, folder: Path) -> "SearchIndex":
        """The index in the folder; raises on files it cannot read."""

    @classmethod
    def build(cls, folder: Path, docs: Iterable[IndexedFields]) -> int:
        """Fill a new index in `folder` with `docs` in one go; returns how many."""
        index = cls.create(folder)
        try:
            return index.add(docs, replace=False, bulk=True)
        finally:
            index.close()

    @classmethod
    def build_documents(cls, folder: Path, docs: Iterable, jobs: int, tokenise) -> int:
        """Fill a new index with the `IndexDocument`s, using `jobs` processes: by default the terms are made
        by `tokenise(docs, jobs)` in worker processes and written here; an engine may spread the writing too."""
        return cls.build(folder, tokenise(docs, jobs))

    @abstractmethod
    def add(self, docs: Iterable[IndexedFields], *, replace: bool = True, bulk: bool = False) -> int:
        """Index the cases (replacing any version of them the index held) and commit; returns how many."""

    @abstractmethod
    def remove(self, case_id: str) -> int:
        """Drop one case and commit; returns how many documents went."""

    @abstractmethod
    def indexed(self) -> dict[str, str]:
        """{case_id: manifest_sha256} of every indexed case."""

    @abstractmethod
    def search(self, plan: Plan, *, limit: int, offset: int = 0, facets: bool = True) -> RawResults:
        """The plan's total, hits [offset, offset + limit) in rank order, and facet counts of all matches."""

    def refresh(self) -> None:
        """See what other writers committed since this index was opened."""

    def close(self) -> None:
        pass


def rank_key(score: float, day: int, case_id: str) -> tuple:
    """Points first, then the latest interview, then the case id: the order every engine returns."""
    return (-score, -day, case_id)
