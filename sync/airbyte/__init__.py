"""crmsync under the Airbyte protocol, above the engine and its connectors.

``destination``: any crmsync destination as an Airbyte destination (``spec``, ``check``,
``write``), launched by ``python -m connectors.<system>``. The sources are Airbyte sources
of their own (each connector's ``source.py``); the engine runs them in-process through
``sync.engine.reading``.
"""
