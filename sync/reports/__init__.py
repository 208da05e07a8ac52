"""Finance reports: what was posted (vouchers, control totals), what is owed (aging, credit),
what came in (collections), and the reminders that chase what is overdue.

The report builders are pure functions from records to a ``Report`` (``sync.reports.table``);
renderers in ``sync.reports.render`` turn a Report into xlsx, html, csv or json. Nothing
here talks to the network or the state store: the CLI glue in ``sync.cli.report_cmd`` feeds
them.
"""
