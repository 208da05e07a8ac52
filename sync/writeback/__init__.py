"""Write-back to the CRM: after vouchers post, put their ERP number and status on the source
records (Fxiaoke ``/cgi/crm/v2/data/update``, workflow and approval triggers off).

``after_posting(config, store)`` is the one entry point the engine calls at the end of a run.
It never raises and never touches the outbox: posting is finished and committed before it
starts, so a CRM that is down, slow or refusing costs a log line, not a voucher.
"""

from __future__ import annotations

from sync.writeback.run import WritebackResult, after_posting

__all__ = ["WritebackResult", "after_posting"]
