"""Where a line and the records it names live in Business Central: addresses hold
checked GUIDs only, and each path is written once, options percent-encoded."""

from __future__ import annotations

import pytest

from shared.payment.refs import CollectionRef, CompanySetRef, PaymentRef
from tests.support.fakes import COMPANY, JOURNAL, PAYMENT


def test_a_lines_path_under_the_api_root() -> None:
    ref = PaymentRef("v2.0", COMPANY, JOURNAL, PAYMENT)
    assert ref.path == (
        f"companies({COMPANY})/customerPaymentJournals({JOURNAL})/customerPayments({PAYMENT})"
    )


@pytest.mark.parametrize(
    "ids",
    [
        (COMPANY, JOURNAL, PAYMENT + "\n"),
        (COMPANY, "journal", PAYMENT),
        ("../x", JOURNAL, PAYMENT),
    ],
)
def test_a_line_address_holds_guids_only(ids: tuple[str, str, str]) -> None:
    with pytest.raises(ValueError, match="GUIDs only"):
        PaymentRef("v2.0", *ids)


def test_collections_nest_from_the_companies_to_a_journals_lines() -> None:
    assert CollectionRef("v2.0").path == "companies"
    assert CollectionRef("v2.0", COMPANY).path == f"companies({COMPANY})/customerPaymentJournals"
    lines = CollectionRef("v2.0", COMPANY, JOURNAL, (("$filter", "a eq 'b c'"), ("$top", "5")))
    assert lines.path == (
        f"companies({COMPANY})/customerPaymentJournals({JOURNAL})/customerPayments"
        "?$filter=a%20eq%20%27b%20c%27&$top=5"
    )


def test_a_collection_refuses_a_journal_without_its_company_and_unknown_options() -> None:
    with pytest.raises(ValueError, match="belongs to a company"):
        CollectionRef("v2.0", None, JOURNAL)
    with pytest.raises(ValueError, match="GUIDs only"):
        CollectionRef("v2.0", "not-a-guid")
    with pytest.raises(ValueError, match="unsupported OData option"):
        CollectionRef("v2.0", COMPANY, JOURNAL, (("$expand", "customer"),))


def test_a_companys_records_may_bring_a_related_record_along() -> None:
    options = (("$filter", "id eq 1"), ("$expand", "currency"))
    ref = CompanySetRef("v2.0", COMPANY, "customers", options)
    assert ref.path == f"companies({COMPANY})/customers?$filter=id%20eq%201&$expand=currency"
    with pytest.raises(ValueError, match="unsupported entity set"):
        CompanySetRef("v2.0", COMPANY, "vendors")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported OData option"):
        CompanySetRef("v2.0", COMPANY, "customers", (("$select", "id"),))
    with pytest.raises(ValueError, match="GUIDs only"):
        CompanySetRef("v2.0", "x", "customers")
