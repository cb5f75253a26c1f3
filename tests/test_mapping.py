"""Vendor <-> canonical mappings lose nothing: property-based round trips."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from connectors.hubspot.mapping import company_from_hubspot, company_to_hubspot, line_from_hubspot, line_to_hubspot
from connectors.stripe.mapping import encode_form, invoice_from_stripe
from connectors.zendesk.mapping import organization_from_zendesk, organization_to_zendesk
from models.catalog import BillingFrequency
from models.common import Region
from models.deal import DealLine
from models.money import ISO_4217, Money
from models.party import Address, Contact, Customer, TaxRegistration
from models.support import EntitlementStatus, SupportOrganization
from simulators.stripe_spec import decode_form

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)
country = st.sampled_from(["US", "DE", "FR", "GB", "NL", "ES"])
currency = st.sampled_from(["USD", "EUR", "GBP", "JPY", "KWD"])
positive = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1e7"), places=4)


@st.composite
def lines(draw: st.DrawFn) -> DealLine:
    frequency = draw(st.sampled_from(list(BillingFrequency)))
    return DealLine(
        id=str(draw(st.integers(1, 10**9))),
        sku=draw(text),
        name=draw(text),
        quantity=draw(positive),
        unit_price=Money(amount=draw(st.decimals(min_value=0, max_value=Decimal("1e7"), places=2)), currency="EUR"),
        frequency=frequency,
        start_date=draw(st.none() | st.dates(date(2020, 1, 1), date(2035, 1, 1))),
    )


@given(lines())
def test_hubspot_line_round_trip(line):
    assert line_from_hubspot({"id": line.id, "properties": line_to_hubspot(line)}, "EUR") == line


@st.composite
def customers(draw: st.DrawFn) -> Customer:
    where = draw(country)
    address = Address(
        line1=draw(text),
        line2=draw(st.none() | text),
        city=draw(text),
        postal_code=draw(st.none() | text),
        region=draw(st.none() | text),
        country=where,
    )
    tax = draw(st.none() | st.builds(TaxRegistration, country=st.just(where), number=text.filter(lambda t: len(t) > 1)))
    contact = Contact(first_name=draw(text), last_name=draw(text), email=f"{draw(st.uuids()).hex}@example.com")
    company_id = str(draw(st.integers(1, 10**9)))
    return Customer(
        id=company_id,
        legal_name=draw(text),
        billing_address=address,
        tax_registration=tax,
        legal_entity=draw(st.sampled_from(["1", "2", "3"])),
        currency=draw(currency),
        region=draw(st.sampled_from(list(Region))),
        contacts=[contact],
        external_ids={"crm": company_id},
    )


@given(customers())
def test_hubspot_company_round_trip(customer):
    assert company_from_hubspot({"id": customer.id, "properties": company_to_hubspot(customer)}) == customer


@given(
    st.builds(
        SupportOrganization,
        id=st.integers(1, 10**9).map(str),
        external_id=text,
        name=text,
        service_tier=st.none() | text,
        contract_start=st.none() | st.dates(),
        contract_end=st.none() | st.dates(),
        entitlement_status=st.none() | st.sampled_from(list(EntitlementStatus)),
        invoice_status=st.none() | text,
        erp_customer_id=st.none() | text,
    )
)
def test_zendesk_organization_round_trip(org):
    record = {"id": int(org.id or 0), **organization_to_zendesk(org)}
    assert organization_from_zendesk(record) == org


@given(st.integers(0, 10**12), currency)
def test_stripe_invoice_total_keeps_every_minor_unit(minor, code):
    record = {
        "id": "in_1",
        "status": "open",
        "total": minor,
        "currency": code.lower(),
        "due_date": None,
        "number": None,
    }
    invoice = invoice_from_stripe(record)
    assert invoice.total.currency == code and invoice.total.to_minor_units() == minor and code in ISO_4217


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
        st.text(min_size=0, max_size=20)
        | st.lists(
            st.dictionaries(
                st.from_regex(r"[a-z_]{1,8}", fullmatch=True), st.text(max_size=10), min_size=1, max_size=3
            ),
            min_size=1,
            max_size=3,
        ),
        max_size=5,
    )
)
def test_stripe_form_encoding_round_trip(params):
    assert decode_form(encode_form(params)) == params
