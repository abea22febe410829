"""An entity as the proxy answers it: Business Central's properties in its order,
every ``@odata.*`` annotation out, the ``etag`` in."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.upstream.entities import normalize_entity

_NAMES = st.sampled_from(
    ["@odata.context", "@odata.etag", "@odata.nextLink", "@odata.x", "id", "amount", "a@odata.b"]
) | st.text(alphabet="@odat.xy", max_size=9)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(_NAMES, st.integers() | st.text(max_size=3), max_size=8),
    st.none() | st.text(max_size=3),
)
def test_every_annotation_goes_and_the_rest_keeps_its_order(
    data: dict[str, Any], header: str | None
) -> None:
    line, etag = normalize_entity(data, header)
    body_etag = data.get("@odata.etag")
    expected_etag = body_etag if isinstance(body_etag, str) else header
    expected = {k: v for k, v in data.items() if not k.startswith("@odata.")}
    if expected_etag is not None:
        expected["etag"] = expected_etag
    assert etag == expected_etag
    assert list(line.items()) == list(expected.items())
