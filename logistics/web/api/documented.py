"""What each `/api/v1` handler accepts and answers, declared next to the handler and read by
`logistics.web.openapi` to build the OpenAPI document (so the document cannot drift from the routes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

Security = Literal["client", "staff", "client_or_staff", "none"]
Body = type[BaseModel] | dict | None
"""A pydantic model (JSON), a ready JSON schema, or {media type: schema} via `Media`."""


@dataclass(frozen=True)
class Media:
    """A non-JSON body or answer: {media type: JSON schema} (a PDF, a CSV, a multipart upload)."""

    types: dict[str, dict]


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["query", "path", "header"]
    schema: dict
    description: str = ""
    required: bool = False
    style: str | None = None
    explode: bool | None = None


BINARY = {"type": "string", "format": "binary"}
PERIOD = {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$", "examples": ["2026-10"]}


@dataclass(frozen=True)
class Operation:
    summary_zh: str
    summary_en: str
    security: Security
    responses: dict[int, type[BaseModel] | Media | None]
    request: type[BaseModel] | Media | None = None
    params: tuple[Param, ...] = ()
    roles: tuple[str, ...] = ()
    tag: str = "dispatches"
    description: str = ""
    headers: dict[int, dict[str, str]] = field(default_factory=dict)  # status -> {header: description}


OPERATION = "__openapi_operation__"


def documented(**declared: Any) -> Callable:
    """Attach an `Operation` to a handler; decorate below the route decorator."""
    operation = Operation(**declared)

    def attach(handler: Callable) -> Callable:
        setattr(handler, OPERATION, operation)
        return handler

    return attach


def operation_of(handler: Callable) -> Operation | None:
    return getattr(handler, OPERATION, None)
