"""The one admission of a request: its path ids checked as GUIDs, look-alikes refused."""

from __future__ import annotations

import pytest

from shared.functions.lines import handle_payment
from shared.http.admit import bad_guids
from shared.process.problems import Problem
from tests.support.fakes import (
    COMPANY,
    CountingCredential,
    FakeBusinessCentral,
    get_request,
    payment_path,
    slug,
)


@pytest.mark.parametrize(
    "company",
    [
        COMPANY + "\n",
        COMPANY + "\r\n",
        "\n" + COMPANY,
        COMPANY + "\x00",
        COMPANY.replace("6", "\uff16"),  # fullwidth digit six
        COMPANY.replace("a", "\u0430"),  # Cyrillic small a
        COMPANY.replace("-", "\u2010"),  # Unicode hyphen
        f"{{{COMPANY}}}",
        f"{COMPANY})/customerPayments(x",
        f"{COMPANY}/../{COMPANY}",
    ],
)
async def test_look_alike_path_ids_are_invalid(
    bc: FakeBusinessCentral, credential: CountingCredential, company: str
) -> None:
    with pytest.raises(Problem) as raised:
        bad_guids({**payment_path(), "companyId": company}, ("companyId", "journalId"))
    assert raised.value.slug == "invalid-path-parameter"
    response = await handle_payment(get_request(companyId=company))
    assert (response.status, slug(response)) == (400, "invalid-path-parameter")
    assert bc.requests == []
    assert credential.calls == 0
