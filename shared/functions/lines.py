"""The payment line routes: read, update, validate, and the lists that find a line."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from shared.functions.convert import core_request, http_response
from shared.lines import lists, lookups, single, suggestions, validate
from shared.process import paths


def blueprint(auth_level: func.AuthLevel) -> df.Blueprint:
    """The routes of payment lines, each behind ``auth_level``."""
    bp = df.Blueprint()

    @bp.function_name("payment")
    @bp.route(route=paths.PAYMENT, methods=["GET", "PATCH"], auth_level=auth_level)
    async def payment(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(await single.handle_payment(core_request(req)))

    @bp.function_name("validate_payment")
    @bp.route(route=paths.VALIDATE, methods=["POST"], auth_level=auth_level)
    async def validate_payment(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(await validate.handle_validate(core_request(req)))

    @bp.function_name("list_companies")
    @bp.route(route=paths.COMPANIES, methods=["GET"], auth_level=auth_level)
    async def list_companies(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(await lists.handle_companies(core_request(req)))

    @bp.function_name("list_journals")
    @bp.route(route=paths.JOURNALS, methods=["GET"], auth_level=auth_level)
    async def list_journals(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(await lists.handle_journals(core_request(req)))

    @bp.function_name("list_payments")
    @bp.route(route=paths.LINES, methods=["GET"], auth_level=auth_level)
    async def list_payments(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(await lists.handle_lines(core_request(req)))

    @bp.function_name("list_customers")
    @bp.route(route=paths.CUSTOMERS, methods=["GET"], auth_level=auth_level)
    async def list_customers(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(await lookups.handle_customers(core_request(req)))

    @bp.function_name("list_open_invoices")
    @bp.route(route=paths.OPEN_INVOICES, methods=["GET"], auth_level=auth_level)
    async def list_open_invoices(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(await lookups.handle_open_invoices(core_request(req)))

    @bp.function_name("suggest_invoices")
    @bp.route(route=paths.SUGGESTIONS, methods=["GET"], auth_level=auth_level)
    async def suggest_invoices(req: func.HttpRequest) -> func.HttpResponse:
        return http_response(await suggestions.handle_suggestions(core_request(req)))

    return bp
