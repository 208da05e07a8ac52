"""The embedded ledger: an ERP-like double-entry book in SQLite, the default destination."""
