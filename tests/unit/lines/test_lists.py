"""The pieces of the list routes that need no sockets: the OData filter the
proxy builds, next-page paths, collection URLs and the public base URL."""

from __future__ import annotations

from typing import Any, cast

import pytest

from shared.lines.lists import line_filters, lines_path, odata_filter
from shared.payment.refs import CollectionRef
from shared.process.problems import Problem
from shared.process.settings import Settings
from shared.upstream.client import BusinessCentralClient
from tests.support.fakes import COMPANY, JOURNAL, TENANT


def test_filter_literals_are_quoted_upper_cased_and_joined() -> None:
    built = odata_filter({"documentNumber": "o'brien", "customerNumber": "10000"})
    assert built == "documentNumber eq 'O''BRIEN' and customerNumber eq '10000'"
    assert odata_filter({"documentNumber": "''"}) == "documentNumber eq ''''''"


def test_filters_keep_only_known_names_and_use_the_property_rules() -> None:
    query = {"documentNumber": "G1", "$filter": "x", "top": "2"}
    assert line_filters("v2.0", query) == {"documentNumber": "G1"}
    with pytest.raises(Problem, match="externalDocumentNumber must be at most 35") as caught:
        line_filters("v1.0", {"externalDocumentNumber": "E" * 36})
    assert caught.value.slug == "invalid-query-parameter"


def test_next_page_path_encodes_every_value() -> None:
    path = lines_path("v2.0", COMPANY, JOURNAL, {"documentNumber": "A&B=C'#"}, 10, 20)
    assert path == (
        f"/v2.0/companies/{COMPANY}/customerPaymentJournals/{JOURNAL}/customerPayments"
        "?documentNumber=A%26B%3DC%27%23&top=10&skip=20"
    )


def test_collection_urls_are_built_from_guids_and_fixed_option_names() -> None:
    settings = Settings(bc_tenant_id=TENANT, bc_base_url="https://bc.test")
    client = BusinessCentralClient(settings, cast(Any, None), cast(Any, None))
    root = f"https://bc.test/v2.0/{TENANT}/production/api/v2.0"
    assert client.collection_url(CollectionRef("v2.0")) == f"{root}/companies"
    query = (("$filter", "documentNumber eq 'A B&'"), ("$top", "101"))
    assert client.collection_url(CollectionRef("v2.0", COMPANY, JOURNAL, query)) == (
        f"{root}/companies({COMPANY})/customerPaymentJournals({JOURNAL})/customerPayments"
        "?$filter=documentNumber%20eq%20%27A%20B%26%27&$top=101"
    )
    with pytest.raises(ValueError, match="GUIDs"):
        CollectionRef("v2.0", "x)/other(")
    with pytest.raises(ValueError, match="OData option"):
        CollectionRef("v2.0", COMPANY, JOURNAL, (("$expand", "x"),))
    with pytest.raises(ValueError, match="company"):
        CollectionRef("v2.0", None, JOURNAL)
