"""The saga kit on its own: a tiny two-step booking saga, written with the kit, on the workflow environment.

It names nothing of quote-to-cash; the whole saga (models, activities, workflow) takes about 110 lines of the 200
the kit promises for a new saga.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from pydantic import BaseModel, Field
from temporalio import activity, workflow
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.saga import (
    CancelRequest,
    Compensation,
    Decision,
    OperatorDecision,
    ParkedStep,
    SagaError,
    Stage,
    StepRecord,
)
from workflows.kit import Config, Retry, Saga, Step


# ---- the saga: models, activities, workflow ----
class Ask(BaseModel):
    correlation_id: str = ""
    idempotency_key: str = ""
    guest: str = ""
    ref: str = ""
    reason: str = ""


class Done(BaseModel):
    attempt: int = 1
    ref: str = ""


class BookingStatus(BaseModel):
    stage: Stage = Stage.RECEIVED
    steps: list[StepRecord] = Field(default_factory=list)
    external_ids: dict[str, str] = Field(default_factory=dict)
    compensations: list[Compensation] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    exception: ParkedStep | None = None
    cancel: CancelRequest | None = None
    error: SagaError | None = None


@dataclass
class Hotel:
    """An in-memory hotel and card processor; the test scripts refusals and a slow charge."""

    rooms: dict[str, str] = field(default_factory=dict)  # idempotency key -> room, while reserved
    charges: dict[str, str] = field(default_factory=dict)  # idempotency key -> charge, while not refunded
    undone: list[str] = field(default_factory=list)
    card: str = "valid"  # "expired": a person can fix it; "declined": nobody can
    charging: asyncio.Event = field(default_factory=asyncio.Event)
    proceed: asyncio.Event = field(default_factory=asyncio.Event)

    @activity.defn(name="kit_test.reserve")
    async def reserve(self, ask: Ask) -> Done:
        return Done(ref=self.rooms.setdefault(ask.idempotency_key, f"room-{len(self.rooms) + 1}"))

    @activity.defn(name="kit_test.release")
    async def release(self, ask: Ask) -> Done:
        self.undone.append(f"release {ask.ref}: {ask.reason}")
        self.rooms = {k: v for k, v in self.rooms.items() if v != ask.ref}
        return Done()

    @activity.defn(name="kit_test.charge")
    async def charge(self, ask: Ask) -> Done:
        self.charging.set()
        await self.proceed.wait()
        if self.card != "valid":
            code = "CARD_EXPIRED" if self.card == "expired" else "CARD_DECLINED"
            raise ApplicationError(f"card {self.card}", type=code, non_retryable=True)
        return Done(ref=self.charges.setdefault(ask.idempotency_key, f"ch-{ask.guest}"))

    @activity.defn(name="kit_test.refund")
    async def refund(self, ask: Ask) -> Done:
        self.undone.append(f"refund {ask.ref}")
        self.charges = {k: v for k, v in self.charges.items() if v != ask.ref}
        return Done()


RESERVE = Step("reserve_room", Hotel.reserve, external_id=lambda o: o.ref)
RELEASE = Step("release_room", Hotel.release, retry=Retry.UNDO, action="release the room")
CHARGE = Step("charge_card", Hotel.charge, external_id=lambda o: o.ref)
REFUND = Step("refund_card", Hotel.refund, retry=Retry.UNDO, action="refund the card")


@workflow.defn(name="KitTestBooking")
class Booking:
    @workflow.init
    def __init__(self, guest: str) -> None:
        self.state, self.confirmed = BookingStatus(), False
        self.saga = Saga(self.state, Config(correlation_id=guest, fixable={"CARD_EXPIRED": "card_expired"}))

    @workflow.query
    def status(self) -> BookingStatus:
        return self.state

    @workflow.signal
    def confirm(self) -> None:
        self.confirmed = True

    @workflow.signal
    def cancel(self, request: CancelRequest) -> None:
        self.saga.request_cancel(request)

    @workflow.signal
    def retry(self, decision: OperatorDecision) -> None:
        self.saga.workbench.resolve("retry", decision)

    @workflow.signal
    def skip(self, decision: OperatorDecision) -> None:
        self.saga.workbench.resolve("skip", decision)

    @workflow.run
    async def run(self, guest: str) -> Stage:
        await self.saga.run(lambda: self.book(guest))
        self.saga.raise_if_cancelled()
        return self.state.stage

    async def book(self, guest: str) -> None:
        room = await self.saga.step(
            RESERVE, Ask(guest=guest), undo=RELEASE.using(lambda o, why: Ask(ref=o.ref, reason=why))
        )
        await self.saga.step(
            CHARGE, Ask(guest=guest, ref=room.ref), undo=REFUND.using(lambda o, why: Ask(ref=o.ref, reason=why))
        )
        await workflow.wait_condition(lambda: self.confirmed or self.state.cancel is not None)
        self.saga.check_cancel()


# ---- the tests ----
@pytest.fixture
async def booking(env: WorkflowEnvironment) -> AsyncIterator[tuple[Hotel, WorkflowHandle[Booking, Stage]]]:
    hotel, queue = Hotel(), f"kit-{uuid.uuid4().hex[:8]}"
    acts = [hotel.reserve, hotel.release, hotel.charge, hotel.refund]
    async with Worker(env.client, task_queue=queue, workflows=[Booking], activities=acts):
        handle = await env.client.start_workflow(Booking.run, "ada", id=f"kit-{queue}", task_queue=queue)
        yield hotel, handle


async def status(handle: WorkflowHandle[Booking, Stage]) -> BookingStatus:
    return await handle.query(Booking.status)


async def until(handle: WorkflowHandle[Booking, Stage], ready: Callable[[BookingStatus], object]) -> BookingStatus:
    for _ in range(400):
        found = await status(handle)
        if ready(found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"never got there: {found.model_dump_json(indent=1)}")


def charged(found: BookingStatus) -> bool:
    return "charge_card" in found.external_ids


async def test_a_cancel_undoes_the_done_steps_in_reverse(booking):
    hotel, handle = booking
    hotel.proceed.set()
    await until(handle, charged)
    await handle.signal(Booking.cancel, CancelRequest(requested_by="ada", reason="plans changed"))
    assert await handle.result() is Stage.CANCELLED
    final = await status(handle)
    assert [c.step for c in final.compensations] == ["charge_card", "reserve_room"]
    assert hotel.undone == ["refund ch-ada", "release room-1: cancelled by ada: plans changed"]
    assert hotel.rooms == {} and hotel.charges == {}
    assert [(d.action, d.accepted) for d in final.decisions] == [("cancel", True)]


async def test_a_refusal_undoes_only_what_was_done(booking):
    hotel, handle = booking
    hotel.card = "declined"
    hotel.proceed.set()
    assert await handle.result() is Stage.COMPENSATED
    final = await status(handle)
    assert final.error is not None and final.error.type == "CARD_DECLINED" and final.error.step == "charge_card"
    assert [c.step for c in final.compensations] == ["reserve_room"] and hotel.charges == {}


async def test_a_temporal_cancel_mid_step_lets_the_write_land_then_undoes_it(booking):
    hotel, handle = booking
    await hotel.charging.wait()
    await handle.cancel()
    heard = await until(handle, lambda found: found.cancel is not None)  # while the charge still runs
    assert heard.cancel is not None and heard.cancel.requested_by == "temporal" and not charged(heard)
    hotel.proceed.set()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert (await handle.describe()).status is WorkflowExecutionStatus.CANCELED
    final = await status(handle)
    assert [c.step for c in final.compensations] == ["charge_card", "reserve_room"]
    assert hotel.undone[0] == "refund ch-ada" and hotel.charges == {} and hotel.rooms == {}


async def test_a_fixable_refusal_parks_a_decision_that_does_not_apply_is_refused_and_retry_goes_on(booking):
    hotel, handle = booking
    hotel.card = "expired"
    hotel.proceed.set()
    parked = await until(handle, lambda found: found.stage is Stage.NEEDS_ATTENTION)
    assert parked.exception is not None and parked.exception.code == "card_expired"
    assert parked.exception.step == "charge_card" and parked.exception.actions == ["retry", "compensate"]
    await handle.signal(Booking.skip, OperatorDecision(by="intern", reason="just go on"))
    hotel.card = "valid"
    await handle.signal(Booking.retry, OperatorDecision(by="front desk", reason="new card on file"))
    await until(handle, charged)
    await handle.signal(Booking.confirm)
    assert await handle.result() is Stage.COMPLETED
    final = await status(handle)
    assert [(d.action, d.by, d.accepted) for d in final.decisions] == [
        ("skip", "intern", False),
        ("retry", "front desk", True),
    ]
    assert final.decisions[0].note == "skip is not allowed at charge_card; allowed: retry, compensate"
    assert final.compensations == [] and list(hotel.charges.values()) == ["ch-ada"]
