"""A request imports nothing. Python never caches an import that failed, so a lazy
import of a missing module (httpcore asks for sniffio on every connection-pool lock)
searches every folder of sys.path on every request. After one of each has warmed the
process, a PATCH, a GET, a list and a bulk validate-only call must leave the import
system untouched, here in the test and the local host alike (one process)."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType

import httpx
import pytest

from tests.support.proxy import Proxy

pytestmark = pytest.mark.e2e


class Searches(importlib.abc.MetaPathFinder):
    """Notes every module the import system is asked to find (one not yet imported)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> None:
        self.names.append(fullname)
        return None  # the real finders go on as usual


@pytest.fixture
def searches() -> Iterator[Searches]:
    finder = Searches()
    sys.meta_path.insert(0, finder)
    try:
        yield finder
    finally:
        sys.meta_path.remove(finder)


def calls(proxy: Proxy) -> list[Callable[[], httpx.Response]]:
    lines = proxy.payment_url().rsplit("/", 1)[0]
    bulk = lines.replace("/customerPayments", "/bulkPaymentUpdates") + "?validateOnly=true"
    update = {
        "updates": [{"id": proxy.line()["payment"], "ifMatch": "*", "changes": {"comment": "x"}}]
    }
    return [
        lambda: proxy.patch({"comment": "paid by transfer"}),
        lambda: proxy.get(),
        lambda: proxy.http.get(lines),
        lambda: proxy.http.post(bulk, json=update),
    ]


def test_a_warm_process_imports_nothing_to_answer(proxy: Proxy, searches: Searches) -> None:
    for call in calls(proxy):
        assert call().status_code == 200
    searches.names.clear()
    for call in calls(proxy):
        assert call().status_code == 200
    assert searches.names == []


def test_the_finder_sees_a_failed_import_every_time(searches: Searches) -> None:
    """The check above can fail: a missing module is searched for again at each import."""
    for _ in range(2):
        with pytest.raises(ImportError):
            import a_module_that_is_not_installed  # type: ignore[import-not-found]  # noqa: F401
    assert searches.names == ["a_module_that_is_not_installed"] * 2
