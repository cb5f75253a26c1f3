"""The new-business saga: QuoteToCash, its step declarations, credit review and payment follow-up."""

from workflows.quote_to_cash.workflow import QuoteToCash

__all__ = ["QuoteToCash"]
