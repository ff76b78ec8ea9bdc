"""Query parameters a route does not take are refused, each named: ``?contry=SY`` or
``?perpetrator=Russia`` would otherwise be ignored, and the answer (every place, every strike)
would look like the filtered one."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from sitrep.api.problems import FieldProblem, invalid_parameters


def _query_names(dependant: Dependant) -> frozenset[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


async def only_known_parameters(request: Request) -> None:
    """A dependency of the API's routes: a 422 naming every query parameter the route does
    not take, and saying which it does."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    taken = _query_names(route.dependant)  # a few names: not worth a cache
    unknown = sorted(set(request.query_params) - taken)
    if not unknown:
        return
    takes = f"it takes {', '.join(sorted(taken))}" if taken else "it takes none"
    raise invalid_parameters(
        [FieldProblem(name, f"is not a parameter of {route.path} ({takes})") for name in unknown]
    )
