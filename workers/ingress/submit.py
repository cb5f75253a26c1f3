"""`POST /api/v1/deals/{crm}/{deal_id}/submit`: the CRM's synchronous intake (a "submit order" button).

Authenticated by a bearer API key per caller (`Q2C_SUBMIT_API_KEYS`, a JSON object `{"caller": "key"}`;
none configured: every request is refused). The answer comes within a few seconds: the deal's problems by
field, the credit verdict and the saga id; the saga runs on. The webhook path is unchanged beside it.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, SecretStr

from client.submit import submit_deal
from infra.correlation import accepted
from infra.settings import Q2CSettings
from models.saga import CRM_NAME, Submission
from workers.ingress.common import Refused

BEARER = HTTPBearer(auto_error=False, description="an API key from Q2C_SUBMIT_API_KEYS")
DEAL_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


def caller_of(token: str, keys: Mapping[str, SecretStr]) -> str | None:
    """The caller whose API key this is (recorded as `api:<caller>` on the saga); every key is compared, in
    constant time, so the answer's timing tells nothing of which key came close."""
    found = None
    for name, key in keys.items():
        if hmac.compare_digest(token.encode(), key.get_secret_value().encode()):
            found = name
    return found


class SubmitAnswer(BaseModel):
    """The saga's first answer. `status` `answered`: validated and credit decided (or parked or stopped:
    see `submission`); `pending`: not within the wait, the saga goes on (`q2c status <saga_id>`)."""

    saga_id: str
    status: Literal["answered", "pending"]
    submission: Submission


class Problem(BaseModel):
    error: str


def submit_router(crms: tuple[str, ...]) -> APIRouter:
    """The intake route for the CRMs served (`Q2C_CRMS`); the callers' keys are the ingress's settings'."""
    router = APIRouter(tags=["intake"])

    def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(BEARER)) -> str:
        settings: Q2CSettings = request.app.state.settings
        found = caller_of(credentials.credentials, settings.submit_api_keys) if credentials else None
        if found is None:
            raise Refused(401, "a valid API key is required: Authorization: Bearer <key>")
        return found

    @router.post(
        "/api/v1/deals/{crm}/{deal_id}/submit",
        response_model=SubmitAnswer,
        responses={
            202: {"model": SubmitAnswer, "description": "not answered within the wait; the saga goes on"},
            401: {"model": Problem, "description": "no or a wrong API key"},
            404: {"model": Problem, "description": "a CRM this q2c does not serve"},
            503: {"model": Problem, "description": "Temporal unavailable; retry later"},
        },
        summary="Submit a closed-won deal: validation and credit verdict now, the order after",
    )
    async def submit(
        request: Request,
        crm: Annotated[str, Path(pattern=f"^{CRM_NAME}$", max_length=40)],
        deal_id: Annotated[str, Path(pattern=DEAL_ID)],
        who: str = Depends(caller),  # a local dependency: FastAPI cannot resolve it in a string annotation
    ) -> JSONResponse:
        """Start (or join) the deal's saga and answer with its first verdict."""
        if crm not in crms:
            raise Refused(404, f"CRM {crm!r} is not served here; served: {', '.join(crms)}")
        settings: Q2CSettings = request.app.state.settings
        correlation_id = accepted(request.headers.get("x-correlation-id"), f"submit-{uuid.uuid4()}")
        submitted = await submit_deal(
            request.app.state.client,
            crm,
            deal_id,
            triggered_by=f"api:{who}",
            correlation_id=correlation_id,
            task_queue=settings.task_queue,
            **settings.saga_terms(),
        )
        body = SubmitAnswer(
            saga_id=submitted.submission.workflow_id,
            status="pending" if submitted.pending else "answered",
            submission=submitted.submission,
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=202 if submitted.pending else 200)

    return router
