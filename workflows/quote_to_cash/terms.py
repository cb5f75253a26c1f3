"""What the deal implies: whether it can become an order, its contract term and support tier. Pure functions,
safe inside a workflow."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.catalog import BillingFrequency
    from models.deal import Deal

TIERS = ("standard", "premium", "enterprise")


def deal_problems(deal: Deal) -> list[str]:
    """Why the deal cannot become an order: closed-won, lines, one currency, whole subscription quantities."""
    return deal.problems() + [
        f"lines[{i}].quantity {line.quantity} must be whole for a subscription"
        for i, line in enumerate(deal.lines)
        if line.frequency.recurring and line.quantity % 1
    ]


def highest_tier(tiers: list[str]) -> str:
    """The best support tier any line entitles; standard when none says."""
    return max(tiers, key=TIERS.index, default=TIERS[0])


def contract_term(deal: Deal, today: date) -> tuple[date, date | None]:
    """Start at the earliest recurring start (or the close date); a year if anything is annual, else a month."""
    starts = [line.start_date for line in deal.lines if line.frequency.recurring and line.start_date]
    start = min(starts) if starts else (deal.close_date or today)
    frequencies = {line.frequency for line in deal.lines}
    if BillingFrequency.ANNUALLY in frequencies:
        return start, _add_months(start, 12) - timedelta(days=1)
    if BillingFrequency.MONTHLY in frequencies:
        return start, _add_months(start, 1) - timedelta(days=1)
    return start, None


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise ValueError(day)


_FIELDS = (("stage", "stage"), ("line items", "line_items"), ("company", "company"), ("total", "amount"))


def field_problems(deal: Deal) -> list[tuple[str, str]]:
    """`deal_problems`, each with the field it is about (the CRM shows it beside that field)."""
    found = []
    for problem in deal_problems(deal):
        if problem.startswith("lines["):
            field = problem.split(" ", 1)[0]
        else:
            field = next((name for word, name in _FIELDS if word in problem), "deal")
        found.append((field, problem))
    return found
