"""Typed interfaces per role (CRM, ERP, billing, support), in canonical models only.

Activities depend on these; each vendor's adapter (connectors/<vendor>/adapter.py) implements one. A port
raises connectors.errors' classes: NotFound, BusinessRuleError (a refusal retrying cannot fix),
TransientError/RateLimited, Unauthorized, SchemaDrift.
"""

from ports.billing import Billing
from ports.crm import Crm, CrmBulkReads
from ports.erp import Erp, ErpBulkReads
from ports.support import Support

__all__ = ["Billing", "Crm", "CrmBulkReads", "Erp", "ErpBulkReads", "Support"]
