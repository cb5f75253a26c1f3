"""Money as Decimal plus an ISO 4217 currency: never float, never mixed currencies."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

# Active ISO 4217 codes with their minor-unit exponent (2 unless listed in _EXPONENTS).
_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF
XPF YER ZAR ZMW ZWL
""".split()
_EXPONENTS = {
    "BHD": 3,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "RWF": 0,
    "TND": 3,
    "UGX": 0,
    "UYU": 2,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}
ISO_4217: dict[str, int] = {code: _EXPONENTS.get(code, 2) for code in _CODES}


def _check_currency(code: str) -> str:
    if code not in ISO_4217:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code (e.g. 'USD', 'EUR', 'GBP')")
    return code


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


Currency = Annotated[str, BeforeValidator(_upper), AfterValidator(_check_currency)]


def _reject_float(value: object) -> object:
    if isinstance(value, float):
        raise ValueError("money amounts must be Decimal, int or a decimal string, never float")
    return value


Amount = Annotated[Decimal, BeforeValidator(_reject_float), Field(allow_inf_nan=False)]


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


class Money(BaseModel):
    """An exact amount in one currency; arithmetic refuses to mix currencies."""

    model_config = ConfigDict(frozen=True)

    amount: Amount
    currency: Currency

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=Decimal(0), currency=currency)

    @classmethod
    def from_minor_units(cls, minor: int, currency: str) -> Money:
        exponent = ISO_4217[_check_currency(currency.upper())]
        return cls(amount=Decimal(minor).scaleb(-exponent), currency=currency)

    def to_minor_units(self) -> int:
        """Amount in the currency's smallest unit (cents), rounded half-even as ledgers do."""
        exponent = ISO_4217[self.currency]
        return int(self.amount.scaleb(exponent).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))

    def rounded(self) -> Money:
        exponent = ISO_4217[self.currency]
        quantum = Decimal(1).scaleb(-exponent)
        return Money(amount=self.amount.quantize(quantum, rounding=ROUND_HALF_EVEN), currency=self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("multiply money by Decimal or int, never float")
        return Money(amount=self.amount * factor, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.rounded().amount} {self.currency}"


def total(amounts: list[Money], currency: str) -> Money:
    """Sum in one currency; an empty list is zero."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
