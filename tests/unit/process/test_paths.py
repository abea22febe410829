"""The proxy's URL space: every route under one prefix, the journal set in either of
Business Central's spellings, and each route as the documents and links show it."""

from __future__ import annotations

from shared.process import paths


def test_a_line_route_nests_in_its_journal_and_company() -> None:
    assert paths.PAYMENT == (
        "{apiVersion}/companies/{companyId}/{journalSet}/{journalId}/customerPayments/{paymentId}"
    )
    assert paths.VALIDATE.startswith(paths.PAYMENT + "/")
    assert paths.SUGGESTIONS.startswith(paths.PAYMENT + "/")
    assert paths.BULK_START.startswith(paths.JOURNALS + "/{journalId}/")
    assert paths.BULK_STATUS == "bulkPaymentUpdates/{jobId}"


def test_a_documented_route_names_the_first_journal_set() -> None:
    assert paths.JOURNAL_SETS[0] == "customerPaymentJournals"
    assert paths.documented(paths.LINES) == (
        "/{apiVersion}/companies/{companyId}/customerPaymentJournals/{journalId}/customerPayments"
    )
    assert paths.documented(paths.CUSTOMERS) == "/{apiVersion}/companies/{companyId}/customers"
    assert paths.documented(paths.HEALTH) == "/health"
