"""Payload encryption: nothing personal in Temporal's history, keys rotate, the codec server guards the keys."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from infra.codec import ENCODING, EncryptionCodec, KeyRing, KeyRingError, encrypted
from infra.settings import Q2CSettings
from models.saga import SagaResult, Stage
from tests.conftest import Sagas
from tests.test_saga import FULL
from workers.codec_server import create_codec_server
from workers.worker import activities_for, build_worker

PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"email": "ana@example.com"}')


async def test_a_payload_round_trips_and_the_ciphertext_reveals_nothing():
    codec = EncryptionCodec(KeyRing.generate("k1"))
    [sealed] = await codec.encode([PLAIN])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata["encryption-key-id"] == b"k1"
    assert b"ana@example.com" not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [PLAIN]
    [again] = await codec.encode([PLAIN])
    assert again.data != sealed.data  # a fresh nonce per payload


async def test_rotation_writes_with_the_new_key_and_still_reads_the_old():
    old = KeyRing.generate("2026-01")
    [under_old] = await EncryptionCodec(old).encode([PLAIN])
    rotated = old.rotated("2026-06")
    codec = EncryptionCodec(rotated)
    [under_new] = await codec.encode([PLAIN])
    assert under_new.metadata["encryption-key-id"] == b"2026-06"
    assert await codec.decode([under_old, under_new]) == [PLAIN, PLAIN]
    with pytest.raises(KeyRingError, match="key '2026-06', which is not in the key ring"):
        await EncryptionCodec(old).decode([under_new])


async def test_plain_payloads_pass_through_and_tampering_is_caught():
    codec = EncryptionCodec(KeyRing.generate())
    assert await codec.decode([PLAIN]) == [PLAIN]  # histories from before encryption was switched on
    [sealed] = await codec.encode([PLAIN])
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(KeyRingError, match="failed authentication"):
        await codec.decode([sealed])


def test_keys_come_from_the_environment_or_a_file_and_bad_ones_are_named(tmp_path, monkeypatch):
    ring = KeyRing.generate("a").rotated("b")
    monkeypatch.setenv("Q2C_CODEC_KEYS", ring.spec())
    from_env = Q2CSettings().key_ring()
    assert from_env is not None and from_env.active == "b" and from_env.keys == ring.keys
    monkeypatch.delenv("Q2C_CODEC_KEYS")
    (tmp_path / "keys.json").write_text(ring.dump())
    monkeypatch.setenv("Q2C_CODEC_KEYS_FILE", str(tmp_path / "keys.json"))
    assert Q2CSettings().key_ring() == ring
    with pytest.raises(KeyRingError, match="key 'short' is 5 bytes"):
        KeyRing.parse(f"short={base64.b64encode(b'12345').decode()}")
    with pytest.raises(KeyRingError, match="item 1 must be id=base64key"):
        KeyRing.parse("just-a-key")
    with pytest.raises(KeyRingError, match="active key 'x' is not in the key ring"):
        KeyRing(active="x", keys=ring.keys)


async def test_the_history_holds_no_customer_email_address_or_tax_id_in_plain_text(ts_env, sim, adapters):
    """Read straight from the server with a client that has no keys: only ciphertext is there."""
    ring = KeyRing.generate()
    histories = {}
    for encrypt in (True, False):  # without the codec the same search finds them: the check can fail
        config = ts_env.client.config()
        client = Client(**{**config, "data_converter": encrypted(pydantic_data_converter, ring if encrypt else None)})
        task_queue = f"q2c-codec-{uuid.uuid4().hex[:8]}"
        sagas = Sagas(client, task_queue, sim)
        deal_id = sagas.new_deal(FULL)
        async with build_worker(client, task_queue, activities_for(*adapters)):
            handle = await sagas.start(deal_id)
            result: SagaResult = await handle.result()
            assert result.stage is Stage.COMPLETED
            status = await sagas.status(handle)
        company = next(c for c in sim.records("hubspot", "companies") if c["id"] == status.customer_id)
        raw = b"".join(
            e.SerializeToString() for e in (await ts_env.client.get_workflow_handle(handle.id).fetch_history()).events
        )
        histories[encrypt] = raw, company["properties"]
    for encrypt, (raw, company) in histories.items():
        secrets = [company["contact_email"], company["address"], company["vat_number"], company["name"]]
        found = [s for s in secrets if s.encode() in raw]
        assert found == ([] if encrypt else secrets), (encrypt, found)
        # Credentials never enter the history, encrypted or not: they live in connector settings only.
        tokens = [a.client.settings.token.get_secret_value() for a in adapters]
        tokens += ["whsec_q2c_dev", "hubspot-app-secret-dev"]
        assert not [t for t in tokens if t.encode() in raw]


@pytest.fixture
def codec_server():
    codec = EncryptionCodec(KeyRing.generate())
    app = create_codec_server(codec, "s3cret", ["http://localhost:8233"])
    return codec, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://codec.test")


async def test_the_codec_server_decodes_for_a_token_holder_only(codec_server):
    codec, web = codec_server
    [sealed] = await codec.encode([PLAIN])
    body = json_format.MessageToJson(Payloads(payloads=[sealed]))
    async with web:
        refused = await web.post("/decode", content=body)
        assert refused.status_code == 401
        wrong = await web.post("/decode", content=body, headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 401
        ok = await web.post(
            "/decode", content=body, headers={"Authorization": "Bearer s3cret", "X-Namespace": "default"}
        )
        assert ok.status_code == 200
        assert list(json_format.Parse(ok.text, Payloads()).payloads) == [PLAIN]
        encoded = await web.post(
            "/encode",
            content=json_format.MessageToJson(Payloads(payloads=[PLAIN])),
            headers={"Authorization": "Bearer s3cret"},
        )
        assert json.loads(encoded.text)["payloads"][0]["metadata"]["encoding"] == base64.b64encode(ENCODING).decode()
        bad = await web.post("/decode", content=b"not json", headers={"Authorization": "Bearer s3cret"})
        assert bad.status_code == 400 and "payloads" in bad.json()["error"]
        assert (await web.get("/healthz")).json()["status"] == "ok"


async def test_the_codec_server_answers_the_ui_preflight_for_its_origin_only(codec_server):
    _, web = codec_server
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    async with web:
        ui = await web.options("/decode", headers={"Origin": "http://localhost:8233", **ask})
        assert ui.status_code == 200 and ui.headers["access-control-allow-origin"] == "http://localhost:8233"
        assert ui.headers["access-control-allow-credentials"] == "true"
        other = await web.options("/decode", headers={"Origin": "http://evil.example", **ask})
        assert "access-control-allow-origin" not in other.headers


def test_the_codec_server_refuses_to_run_without_a_token():
    with pytest.raises(ValueError, match="needs a token"):
        create_codec_server(EncryptionCodec(KeyRing.generate()), "", [])


async def test_a_browser_is_authorised_once_with_the_token_and_then_sends_a_cookie(codec_server):
    codec, web = codec_server
    [sealed] = await codec.encode([PLAIN])
    body = json_format.MessageToJson(Payloads(payloads=[sealed]))
    async with web:
        assert "password" in (await web.get("/authorize")).text
        refused = await web.post("/authorize", content=b"token=guess")
        assert refused.status_code == 401 and "q2c_codec_token" not in refused.headers.get("set-cookie", "")
        ok = await web.post("/authorize", content=b"token=s3cret")
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=none" in cookie
        web.cookies.set("q2c_codec_token", "s3cret")
        decoded = await web.post("/decode", content=body)
        assert decoded.status_code == 200
