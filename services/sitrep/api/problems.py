"""Errors as RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from sitrep.contract.errors import reason_of

log = logging.getLogger("sitrep.api")

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with a request: where (a parameter, or a path in the body) and why."""

    field: str
    reason: str


@dataclass
class Problem(Exception):
    """An error answered as problem details."""

    status: int
    title: str
    detail: str | None = None
    errors: Sequence[FieldProblem] = ()
    headers: Mapping[str, str] = field(default_factory=dict)

    def body(self, instance: str | None = None) -> bytes:
        """The problem details as JSON."""
        body: dict[str, object] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [{"field": e.field, "reason": e.reason} for e in self.errors]
        return orjson.dumps(body)

    def response(self, instance: str | None = None) -> Response:
        """The answer (an ASGI app too, for the middlewares that refuse a request)."""
        return Response(
            self.body(instance), self.status, headers=dict(self.headers), media_type=PROBLEM_JSON
        )


def invalid_parameters(errors: Sequence[FieldProblem]) -> Problem:
    """A 422 naming each parameter that is wrong, and why."""
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors)
    return Problem(422, "Invalid request parameter", detail, errors)


def invalid_parameter(name: str, reason: str) -> Problem:
    return invalid_parameters([FieldProblem(name, reason)])


def not_found(what: str) -> Problem:
    return Problem(404, "Not found", what)


def _field_of(loc: Sequence[int | str]) -> str:
    # FastAPI says where first ("query", "path", "body"); the rest is the parameter's path.
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response(request.url.path)


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [FieldProblem(_field_of(e["loc"]), reason_of(e)) for e in exc.errors()]
    return invalid_parameters(errors).response(request.url.path)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Request failed")
    return Problem(exc.status_code, title, str(exc.detail), headers=exc.headers or {}).response(
        request.url.path
    )


async def _on_crash(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return Problem(500, "Internal error", "the server failed to answer; this is a bug").response(
        request.url.path
    )


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` names each parameter at fault.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                "required": ["field", "reason"],
            },
        },
    },
    "required": ["type", "title", "status"],
}


def _document_problems(app: FastAPI) -> None:
    """Say in the OpenAPI document that errors are problem details (FastAPI documents its 422
    as ``application/json`` validation errors, and no other error at all)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        error = {
            "description": "Problem details",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                for status in [s for s in responses if s[0] in "45"]:
                    responses[status] = {**error, "description": responses[status]["description"]}
                responses.setdefault("4XX", error)
                responses.setdefault("5XX", error)
        return document

    # FastAPI's documented way to extend the document is to replace the method.
    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem details, and document them so."""
    _document_problems(app)
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(Exception, _on_crash)
