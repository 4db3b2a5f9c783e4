"""The web face's calls into the core API (`pipeline.api`), in one place. Each answer is the API model dumped as
JSON (`model_dump(mode="json")`): exactly what the command line prints with `--json`, and what templates show."""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline import api


def as_actor(web_actor) -> api.Actor:
    """The core's actor for the authenticated account and the role it acts in (never free text)."""
    return api.Actor(name=web_actor.name, role=api.Role(web_actor.role))


def search(home, query: str, *, actor, limit: int = 20, offset: int = 0, **filters) -> dict:
    return api.search(home, query or "", actor=as_actor(actor), limit=limit, offset=offset,
                      **filters).model_dump(mode="json")


def show(home, reference: str, *, actor) -> dict:
    return api.show(home, reference, actor=as_actor(actor)).model_dump(mode="json")


@contextmanager
def dossier_copy(home, reference: str, *, actor) -> Iterator[tuple[dict, Path]]:
    """(the case record, its sealed dossier written to a private temporary file with its hash checked); removed
    afterwards: nothing derived from a dossier outlives the request, so a destruction leaves no copy behind."""
    info = show(home, reference, actor=actor)
    if info["status"] == "purged":
        raise api.InvalidArgument(f"案件“{reference}”已销毁，案卷不再保存")
    with tempfile.TemporaryDirectory(prefix="yuetan-web-") as tmp:
        dest = Path(tmp) / "dossier.pdf"
        api.open_dossier(home, info["record"]["case_id"], dest, actor=as_actor(actor))
        yield info["record"], dest


def verify(path: Path, *, trust: Path | None = None) -> dict:
    return api.verify(path, trust=trust).model_dump(mode="json")


def outline(path: Path) -> dict:
    return api.dossier_outline(path).model_dump(mode="json")


def page_png(path: Path, page: int, dest: Path) -> Path:
    return api.dossier_page(path, page, dest)


def check(path: Path) -> dict:
    return api.check(path).model_dump(mode="json")


def ingest(home, path: Path, *, actor, on_stage=None) -> dict:
    report = api.ingest(home, [path], actor=as_actor(actor),
                        on_stage=(lambda _source, stage: on_stage(stage)) if on_stage else None)
    return report.results[0].model_dump(mode="json")


def archival_codes(home, case_ids, *, actor) -> dict[str, str]:
    return api.archival_codes(home, case_ids, actor=as_actor(actor))


def ledger_list(home, case_id: str | None = None, *, actor) -> list[dict]:
    return api.ledger_list(home, case_id, actor=as_actor(actor)).model_dump(mode="json")["entries"]


def ledger_verify(home, *, actor) -> dict:
    return api.ledger_verify(home, actor=as_actor(actor)).model_dump(mode="json")


def audit(home, *, actor) -> dict:
    return api.audit(home, actor=as_actor(actor)).model_dump(mode="json")
