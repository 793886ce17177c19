"""Every failure leaves the server in the OpenAI error shape, never as a traceback.

``{"error": {"message": ..., "type": ..., "param": ..., "code": ..., "hint": ...}}`` with the status
of the :class:`~hanstack.errors.HanstackError` subclass (400 bad input, 401/403 auth, 404, 413, 429
with ``Retry-After``, 5xx for backends). Malformed JSON and wrong types become 400 with the field
and the reason. An unexpected exception is logged with its traceback and answered with a 500 that
says nothing about internals (the one broad ``except`` of the server).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hanstack.errors import AuthError, HanstackError, RateLimitError

log = logging.getLogger(__name__)

_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_denied",
    404: "not_found",
    405: "invalid_request_error",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request_error",
    429: "rate_limit_exceeded",
}


def error_body(
    message: str, type_: str, *, code: str | None = None, param: str | None = None, hint: str | None = None
) -> dict[str, Any]:
    err: dict[str, Any] = {"message": message, "type": type_, "param": param, "code": code or type_}
    if hint:
        err["hint"] = hint
    return {"error": err}


def error_response(status: int, message: str, type_: str | None = None, **kw: Any) -> JSONResponse:
    headers = kw.pop("headers", None)
    return JSONResponse(
        error_body(message, type_ or _STATUS_TYPES.get(status, "api_error"), **kw), status, headers=headers
    )


def hanstack_error_response(exc: HanstackError) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimitError):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    if isinstance(exc, AuthError) and exc.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    status = exc.http_status
    return error_response(
        status,
        exc.message,
        _STATUS_TYPES.get(status, exc.code),
        code=exc.code,
        hint=exc.hint,
        headers=headers or None,
    )


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
    param = ".".join(loc) or None
    if first.get("type") == "json_invalid":
        return f"request body is not valid JSON: {first.get('ctx', {}).get('error', first.get('msg'))}", None
    if first.get("type") == "missing" and not loc:
        return "request body is missing (send a JSON object)", None
    msg = first.get("msg", "invalid value")
    extra = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return (f"{param}: {msg}{extra}" if param else f"{msg}{extra}"), param


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HanstackError)
    async def _hanstack(_: Request, exc: HanstackError) -> JSONResponse:
        return hanstack_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return error_response(400, message, "invalid_request_error", param=param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:  # the server edge
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            500, "internal server error; the request was not completed", "api_error", code="internal_error"
        )
