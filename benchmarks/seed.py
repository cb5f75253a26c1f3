"""Many closed-won deals and what their sagas left in the other systems, at once, for reconciliation at scale.

The vendor-specific writes live in each simulator's package; this only orchestrates them:
- HubSpot: a few deals through the batch API (as a CRM import makes them), then cloned into the simulators'
  SQLite file (simulators/hubspot/seed.py);
- NetSuite: each deal's sales order `<saga id>:create_order` and the customer it is for, in the same
  transaction (simulators/netsuite/seed.py); one deal in MISSING_EVERY has none, as if its webhook was lost;
- Stripe and Zendesk: each company's billing customer and support organization, through q2c's own adapters
  (a handful: the deals share the simulators' companies).
Stripe subscriptions are not seeded per deal: see BENCHMARKS.md (the Stripe simulator's search scans every
subscription per query, which 100,000 of them would make the measurement).

Usage (the simulators on a SQLite file, e.g. `Q2C_SIM_DB=/tmp/sim.db q2c simulators`):
    python -m benchmarks.seed --sim-url http://127.0.0.1:8100 --db /tmp/sim.db --deals 100000
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from connectors.registry import make_adapter
from models.saga import saga_id
from models.support import SupportOrganization
from simulators.hubspot import seed as hubspot_seed
from simulators.hubspot.drive import make_deals
from simulators.netsuite import seed as netsuite_seed

TEMPLATES = 10  # deals made through the API, spread over the USD companies, then cloned
MISSING_EVERY = 20  # every 20th deal has no sales order: reconciliation reports it (missing_saga)


@dataclass(frozen=True)
class Seeded:
    deals: int
    orders: int
    first: str
    last: str
    companies: list[str]


def seed_closed_won(sim_url: str, db: Path, count: int) -> Seeded:
    """`count` closed-won deals (the first TEMPLATES through the API) and their orders, customers and
    organizations."""
    if count < 1:
        raise ValueError(f"--deals must be at least 1, not {count}")
    templates = make_deals(sim_url, min(count, TEMPLATES))
    with sqlite3.connect(db, timeout=60, isolation_level=None) as conn:
        conn.execute("BEGIN IMMEDIATE")  # the simulators wait (their writes are short); nothing is half seeded
        try:
            deals = hubspot_seed.seeded_templates(conn, templates)
            deals += hubspot_seed.bulk_seed(conn, templates, count - len(templates)) if count > len(templates) else []
            orders = netsuite_seed.bulk_seed(conn, _orders(deals), len(deals))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    companies = sorted({d.company_id for d in deals if d.company_id})
    asyncio.run(_customers(sim_url, [d for d in deals[: len(templates)]]))
    return Seeded(deals=len(deals), orders=orders, first=deals[0].deal_id, last=deals[-1].deal_id, companies=companies)


def _orders(deals: list[hubspot_seed.SeededDeal]) -> Iterator[netsuite_seed.OrderSeed]:
    for n, deal in enumerate(deals):
        if deal.company_id is None or n % MISSING_EVERY == MISSING_EVERY - 1:
            continue
        yield netsuite_seed.OrderSeed(
            saga_id=saga_id("hubspot", deal.deal_id),
            customer_key=deal.company_id,
            currency=deal.currency,
            lines=deal.lines,
            order_date=datetime.fromtimestamp(deal.won_at, UTC).date(),
        )


async def _customers(sim_url: str, templates: list[hubspot_seed.SeededDeal]) -> None:
    """Each template company's billing customer and support organization, as a saga makes them."""
    async with (
        make_adapter("crm", "hubspot", simulators=sim_url) as crm,
        make_adapter("billing", "stripe", simulators=sim_url) as billing,
        make_adapter("support", "zendesk", simulators=sim_url) as support,
    ):
        done: set[str] = set()
        for template in templates:
            company = (await crm.get_deal(template.deal_id)).company
            if company is None or company.id in done:
                continue
            done.add(company.id)
            await billing.ensure_customer(company)
            await support.upsert_organization(SupportOrganization(external_id=company.id, name=company.legal_name))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sim-url", required=True)
    parser.add_argument("--db", type=Path, required=True, help="the simulators' SQLite file (Q2C_SIM_DB)")
    parser.add_argument("--deals", type=int, default=100_000)
    args = parser.parse_args()
    began = time.perf_counter()
    seeded = seed_closed_won(args.sim_url, args.db, args.deals)
    print(
        f"{seeded.deals} closed-won deals ({seeded.first}..{seeded.last}), {seeded.orders} sales orders, "
        f"{len(seeded.companies)} companies in {time.perf_counter() - began:.1f} s"
    )
