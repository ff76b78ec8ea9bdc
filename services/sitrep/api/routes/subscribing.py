"""GET /asyncapi.yaml: the AsyncAPI 3.0 document of the topics a subscriber may consume."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Request
from starlette.responses import Response

from sitrep.api.asyncapi import asyncapi_document, render
from sitrep.topics import TopicNames

router = APIRouter(tags=["subscribing"])


@cache
def _rendered(names: TopicNames) -> bytes:
    return render(asyncapi_document(names))


@router.get(
    "/asyncapi.yaml",
    response_class=Response,
    responses={
        200: {
            "description": "The AsyncAPI 3.0 document (YAML)",
            "content": {"application/yaml": {"schema": {"type": "object"}}},
        }
    },
)
async def asyncapi_yaml(request: Request) -> Response:
    """The topics of this deployment (its namespace), their keys, values and settings."""
    follower = request.app.state.follower
    return Response(_rendered(follower.names), media_type="application/yaml")
