"""One PATCH and the answer it earns: what it claims when the proxy fails after sending."""

from __future__ import annotations

from typing import Any

import pytest

from shared.functions.lines import handle_payment
from tests.support.fakes import FakeBusinessCentral, comment_patch


async def test_an_exception_after_the_patch_was_sent_is_an_unknown_outcome(
    bc: FakeBusinessCentral, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.upstream import patch

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug while reading the answer")

    monkeypatch.setattr(patch, "normalize_line", broken)
    response = await handle_payment(comment_patch())
    assert response.status == 504
    assert b"upstream-timeout" in response.body
    assert len(bc.requests) == 1  # sent once, never again on a guess
