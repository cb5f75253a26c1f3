"""The codec server: lets an authorised operator's Temporal UI or CLI show decrypted payloads.

Temporal's remote codec protocol: `POST /encode` and `POST /decode` with `{"payloads": [...]}` in
protobuf JSON. Keys never leave this process; the UI and CLI only ever see the payloads they asked for.

The CLI sends the token as `--codec-auth "Bearer <token>"`. A browser cannot add a header to the UI's
calls, so an operator opens `/authorize` once and enters the token; it is kept in an HttpOnly cookie that
the UI sends along (`TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true`).
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

import structlog
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from infra.codec import EncryptionCodec, KeyRingError

log = structlog.get_logger("q2c.codec")
COOKIE = "q2c_codec_token"
FORM = """<!doctype html><title>q2c codec server</title>
<form method="post" action="authorize"><label>Codec server token
<input type="password" name="token" autofocus></label> <button>Authorize this browser</button></form>"""


def create_codec_server(codec: EncryptionCodec, token: str, cors_origins: list[str]) -> FastAPI:
    """A token is required: anyone holding it reads customer data, so it is never optional."""
    if not token:
        raise ValueError("the codec server needs a token (Q2C_CODEC_SERVER_TOKEN)")
    app = FastAPI(title="q2c codec server", version="1")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors_origins,
        allow_credentials=True,
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
    )
    expected = token.encode()

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        given = header.removeprefix("Bearer ") if header.startswith("Bearer ") else request.cookies.get(COOKIE, "")
        return hmac.compare_digest(given.encode(), expected)

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok", "active_key": codec.ring.active}

    async def convert(request: Request, decode: bool) -> Response:
        if not authorised(request):
            log.warning("codec request refused", path=request.url.path, namespace=request.headers.get("x-namespace"))
            return JSONResponse({"error": "a valid bearer token is required"}, status_code=401)
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except json_format.ParseError as error:
            return JSONResponse({"error": f"body is not {{'payloads': [...]}}: {error}"}, status_code=400)
        try:
            done = await (codec.decode if decode else codec.encode)(list(payloads.payloads))
        except (KeyRingError, ValueError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        log.info("codec", action="decode" if decode else "encode", payloads=len(done))
        return Response(json_format.MessageToJson(Payloads(payloads=done)), media_type="application/json")

    @app.get("/authorize", response_class=HTMLResponse)
    async def authorize_form() -> str:
        return FORM

    @app.post("/authorize")
    async def authorize(request: Request) -> Response:
        form = (await request.body()).decode()
        given = (parse_qs(form).get("token") or [""])[0]
        if not hmac.compare_digest(given.encode(), expected):
            return HTMLResponse("wrong token", status_code=401)
        response = HTMLResponse("this browser may now decode q2c payloads in the Temporal UI")
        response.set_cookie(COOKIE, given, httponly=True, samesite="none", secure=True, max_age=8 * 3600)
        return response

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await convert(request, decode=True)

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await convert(request, decode=False)

    return app
