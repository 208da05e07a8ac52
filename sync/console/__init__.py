"""The web console (``crmsync serve``): finance staff find any voucher and see where it came from;
approvers approve; operators retry, dismiss, pause and resume; admins manage the users.

It reads the same state store the sync writes (SQLite in WAL mode or PostgreSQL), so it runs
beside scheduled syncs, and every button calls the function the CLI command calls
(``sync.operations``), audited under the logged-in user's name. Pages are rendered on the
server (Jinja2, autoescaped) and work without JavaScript; ``/api/`` answers the same in JSON.
"""
