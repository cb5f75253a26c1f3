"""NetSuite SuiteTalk REST simulator: records, transforms, SuiteQL, and TBA / OAuth 2.0 logins checked for real."""

from simulators.netsuite.app import create_app
from simulators.netsuite.errors import ConcurrencyLimit, NetSuiteError, error

__all__ = ["ConcurrencyLimit", "NetSuiteError", "create_app", "error"]
