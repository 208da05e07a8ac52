"""Fxiaoke (纷享销客) CRM source: an airbyte-cdk source over the OpenAPI, with incremental sync.

Layout: ``errors`` (errorCode table), ``client`` (wire, token, pacing, retries), ``paging``
(keyset pages and the exactly-once cursor), ``schemas``, ``streams`` and ``source`` (airbyte-cdk),
``factory`` (config section and ``build`` for crmsync), ``__main__`` (Airbyte CLI). Importing
this package costs nothing: airbyte_cdk is imported by ``streams``/``source`` only.
"""
