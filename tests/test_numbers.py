"""The notice number registry: per organ code and year, never twice, safe across processes."""
from __future__ import annotations

import multiprocessing

import pytest

from archive_store.errors import NumberAlreadyHeld
from archive_store.numbers import NoticeNumberRegistry

pytestmark = pytest.mark.catalog     # runs on PostgreSQL too (make test: --catalog postgresql -m catalog)


@pytest.fixture
def registry(catalog_target):
    with NoticeNumberRegistry(catalog_target) as r:
        yield r


def test_numbers_run_per_prefix_and_year(registry):
    assert registry.allocate("赣市监检约", 2025) == "赣市监检约〔2025〕1号"
    assert registry.allocate("赣市监检约", 2025) == "赣市监检约〔2025〕2号"
    assert registry.allocate("赣市监检约", 2026) == "赣市监检约〔2026〕1号"
    assert registry.allocate("洪市监检约", 2025) == "洪市监检约〔2025〕1号"


def test_same_case_gets_the_same_number(registry):
    first = registry.allocate("赣市监检约", 2025, case_id="JX-1")
    registry.allocate("赣市监检约", 2025, case_id="JX-2")
    assert registry.allocate("赣市监检约", 2025, case_id="JX-1") == first


def test_register_a_number_the_case_carries(registry):
    assert registry.register("赣市监检约〔2025〕12号", "GZ-RZ-2025-004") == "赣市监检约〔2025〕12号"
    assert registry.register("赣市监检约〔2025〕12号", "GZ-RZ-2025-004") == "赣市监检约〔2025〕12号"
    assert registry.holder("赣市监检约〔2025〕12号") == "GZ-RZ-2025-004"
    assert registry.allocate("赣市监检约", 2025) == "赣市监检约〔2025〕13号"   # never below an issued one


def test_a_number_held_by_another_case_is_refused(registry):
    registry.register("赣市监检约〔2025〕3号", "JX-RZ-2025-017")
    with pytest.raises(NumberAlreadyHeld) as exc:
        registry.register("赣市监检约〔2025〕3号", "JX-RZ-2025-099")
    assert "JX-RZ-2025-017" in exc.value.message and "赣市监检约〔2025〕3号" in exc.value.message
    allocated = registry.allocate("赣市监检约", 2025, case_id="A")
    with pytest.raises(NumberAlreadyHeld):
        registry.register(allocated, "B")


def test_a_case_cannot_hold_two_numbers_of_one_year(registry):
    registry.register("赣市监检约〔2025〕3号", "JX-1")
    with pytest.raises(NumberAlreadyHeld):
        registry.register("赣市监检约〔2025〕4号", "JX-1")


def _allocate_many(target, worker: int, count: int, queue) -> None:
    with NoticeNumberRegistry(target) as registry:
        queue.put([registry.allocate("赣市监检约", 2025, case_id=f"W{worker}-{i}") for i in range(count)])


def test_four_processes_allocating_fifty_each(catalog_target):
    db_path = catalog_target
    NoticeNumberRegistry(db_path).close()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_allocate_many, args=(db_path, w, 50, queue)) for w in range(4)]
    for p in workers:
        p.start()
    results = [queue.get(timeout=120) for _ in workers]
    for p in workers:
        p.join(timeout=60)
        assert p.exitcode == 0
    numbers = [n for batch in results for n in batch]
    assert len(numbers) == 200 and len(set(numbers)) == 200
    sequence = sorted(int(n.split("〕")[1].rstrip("号")) for n in numbers)
    assert sequence == list(range(1, 201))
