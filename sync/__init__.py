"""crmsync: CRM and bank money facts to ERP vouchers, each posted exactly once."""

__version__ = "0.1.0"
