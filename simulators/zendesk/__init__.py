"""Zendesk Support: organizations and their fields, idempotent tickets with audits, signed webhooks."""

from simulators.zendesk.app import create_app
from simulators.zendesk.common import ORGANIZATION_FIELDS, SYSTEM, ZendeskError, error

__all__ = ["ORGANIZATION_FIELDS", "SYSTEM", "ZendeskError", "create_app", "error"]
