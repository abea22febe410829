"""Where a payment line, the collections that hold it and the records it names
live in Business Central: addresses built from checked ids only, each path
written once (for a request of its own and for an operation inside a
``$batch`` alike), and the caller's headers that travel with a request to
them (:class:`ForwardHeaders`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import quote

from shared.payment.fields import ApiVersion
from shared.process.guids import GUID_RE


@dataclass(frozen=True)
class PaymentRef:
    """A payment line's address; ids are validated GUIDs, stored lower-case."""

    version: ApiVersion
    company_id: str
    journal_id: str
    payment_id: str

    def __post_init__(self) -> None:
        for value in (self.company_id, self.journal_id, self.payment_id):
            if not GUID_RE.match(value):
                raise ValueError("payment references hold GUIDs only")

    @property
    def path(self) -> str:
        """The line's path under the API root: the one place it is written, for a
        request of its own and for an operation inside a ``$batch`` alike."""
        return (
            f"companies({self.company_id})/customerPaymentJournals({self.journal_id})"
            f"/customerPayments({self.payment_id})"
        )


@dataclass(frozen=True)
class CollectionRef:
    """A collection the proxy lists: the companies (no ids), a company's
    payment journals (``company_id``) or a journal's lines (both ids). Ids are
    validated GUIDs; ``query`` holds OData options the proxy built itself."""

    version: ApiVersion
    company_id: str | None = None
    journal_id: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for value in (self.company_id, self.journal_id):
            if value is not None and not GUID_RE.match(value):
                raise ValueError("collection references hold GUIDs only")
        if self.journal_id is not None and self.company_id is None:
            raise ValueError("a journal belongs to a company")
        for name, _ in self.query:
            if name not in _ODATA_OPTIONS:
                raise ValueError(f"unsupported OData option {name!r}")

    @property
    def path(self) -> str:
        """The path under the API root, options percent-encoded (option names are
        fixed above): for a request of its own and for a GET inside a ``$batch``."""
        path = "companies"
        if self.company_id is not None:
            path += f"({self.company_id})/customerPaymentJournals"
        if self.journal_id is not None:
            path += f"({self.journal_id})/customerPayments"
        if self.query:
            path += "?" + "&".join(f"{n}={quote(v, safe='')}" for n, v in self.query)
        return path


_ODATA_OPTIONS = frozenset({"$filter", "$top", "$skip"})
# A company's records may also bring a related record along (an invoice's customer).
_COMPANY_SET_OPTIONS = _ODATA_OPTIONS | {"$expand"}

# The company's records the proxy reads (lookups and the application check).
CompanySet = Literal["customers", "salesInvoices", "currencies"]
COMPANY_SETS: tuple[CompanySet, ...] = ("customers", "salesInvoices", "currencies")


@dataclass(frozen=True)
class CompanySetRef:
    """A company's customers, sales invoices or currencies, with OData options
    the proxy built itself; the company id is a validated GUID."""

    version: ApiVersion
    company_id: str
    entity_set: CompanySet
    query: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not GUID_RE.match(self.company_id):
            raise ValueError("company references hold GUIDs only")
        if self.entity_set not in COMPANY_SETS:
            raise ValueError(f"unsupported entity set {self.entity_set!r}")
        for name, _ in self.query:
            if name not in _COMPANY_SET_OPTIONS:
                raise ValueError(f"unsupported OData option {name!r}")

    @property
    def path(self) -> str:
        """The path under the API root, options percent-encoded: for a request of
        its own and for a GET inside a ``$batch`` alike."""
        path = f"companies({self.company_id})/{self.entity_set}"
        if self.query:
            path += "?" + "&".join(f"{n}={quote(v, safe='')}" for n, v in self.query)
        return path


class Scoped(Protocol):
    """What the allow-lists check: the company and journal a line, a collection or an
    admitted request is in (either may be absent)."""

    @property
    def company_id(self) -> str | None: ...

    @property
    def journal_id(self) -> str | None: ...


@dataclass(frozen=True)
class ForwardHeaders:
    """What the caller may pass through, each already checked."""

    request_id: str
    if_match: str | None = None
    accept_language: str | None = None
    traceparent: str | None = None
