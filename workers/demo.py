"""`q2c demo`: start the simulators and show them working through the connectors."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from connectors.hubspot import HubSpotClient
from connectors.netsuite import NetSuiteClient
from connectors.settings import simulator_settings
from connectors.stripe import StripeClient
from simulators.app import create_app
from simulators.context import SimulatorSettings
from simulators.server import BackgroundServer


async def run_demo(console: Console) -> int:
    settings = SimulatorSettings()
    simulators = create_app(settings)
    with BackgroundServer(simulators, port=settings.port) as server:
        hs, ns, st, _ = simulator_settings(server.url)
        async with HubSpotClient(hs) as hubspot, NetSuiteClient(ns) as netsuite, StripeClient(st) as stripe:
            manifest = simulators.state.manifest
            deal = await hubspot.get_deal(manifest["deals"]["existing"][0])
            erp = await netsuite.credit_position(f"eid:{deal.company.id if deal.company else ''}")
            price = await stripe.find_price(deal.lines[0].sku, deal.currency)
        table = Table(title=f"simulators on {server.url}")
        table.add_column("system")
        table.add_column("what the connector read")
        table.add_row("HubSpot", f"deal {deal.id} '{deal.name}': {len(deal.lines)} lines, {deal.amount}")
        table.add_row("NetSuite", f"customer {erp.customer_id}: limit {erp.limit}, balance {erp.balance}")
        table.add_row("Stripe", f"price {price.id}: {price.unit_amount} {price.frequency.value}")
        console.print(table)
    return 0
