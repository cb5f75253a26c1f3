"""Kept for workflows/customer_sync.py until it imports the kit's retry classes (workflows/kit/options.py)."""

from workflows.kit.options import FORWARD

__all__ = ["FORWARD"]
