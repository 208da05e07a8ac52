"""Finance reports: what was posted (vouchers, control totals), what is owed (aging, credit),
what came in (collections), and the reminders that chase what is overdue.

The report builders are pure functions from records to a ``Report`` (``sync.tables``), whose
renderers turn it into xlsx, html, csv, json or text; ``sync.reports.inputs`` reads what the
builders need (the CRM through ``sync.crm``, the outbox through the state store).
"""
