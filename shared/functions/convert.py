"""The host's request and response objects, to and from the core's values."""

from __future__ import annotations

import azure.functions as func

from shared.http.messages import CoreRequest, CoreResponse, lower_headers


def core_request(req: func.HttpRequest) -> CoreRequest:
    # route_params and params are read-only views already: no copy needed.
    return CoreRequest(
        method=req.method,
        route_params=req.route_params,
        headers=lower_headers(req.headers),
        body=req.get_body() or b"",
        query=req.params,
    )


def http_response(res: CoreResponse) -> func.HttpResponse:
    return func.HttpResponse(body=res.body, status_code=res.status, headers=res.headers)
