"""The payment line routes: read, update, validate, and the lists and lookups
that find a line, each a use case of ``shared.lines`` in the request frame."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from shared.functions.frame import CallerRoute, bind
from shared.lines import lists, lookups, single, suggestions, validate
from shared.process import paths

handle_payment = CallerRoute("payment", single.payment)
handle_validate = CallerRoute("validate", validate.validate)
handle_companies = CallerRoute("companies", lists.companies, query=())
handle_journals = CallerRoute("journals", lists.journals, query=())
handle_lines = CallerRoute("payment lines", lists.lines, query=lists.LINE_QUERY)
handle_customers = CallerRoute("customers", lookups.customers, query=lookups.CUSTOMER_QUERY)
handle_open_invoices = CallerRoute(
    "open invoices", lookups.open_invoices, query=lookups.INVOICE_QUERY
)
handle_suggestions = CallerRoute(
    "suggested invoices", suggestions.suggest, query=suggestions.SUGGESTION_QUERY
)


def blueprint(auth_level: func.AuthLevel) -> df.Blueprint:
    """The routes of payment lines, each behind ``auth_level``."""
    bp = df.Blueprint()
    bind(bp, "payment", paths.PAYMENT, ["GET", "PATCH"], auth_level, handle_payment)
    bind(bp, "validate_payment", paths.VALIDATE, ["POST"], auth_level, handle_validate)
    bind(bp, "list_companies", paths.COMPANIES, ["GET"], auth_level, handle_companies)
    bind(bp, "list_journals", paths.JOURNALS, ["GET"], auth_level, handle_journals)
    bind(bp, "list_payments", paths.LINES, ["GET"], auth_level, handle_lines)
    bind(bp, "list_customers", paths.CUSTOMERS, ["GET"], auth_level, handle_customers)
    bind(bp, "list_open_invoices", paths.OPEN_INVOICES, ["GET"], auth_level, handle_open_invoices)
    bind(bp, "suggest_invoices", paths.SUGGESTIONS, ["GET"], auth_level, handle_suggestions)
    return bp
