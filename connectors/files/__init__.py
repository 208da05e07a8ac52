"""The file source: CRM exports as JSON Lines, one ``<ObjectApiName>.jsonl`` per stream.

Importing this package is free; airbyte_cdk is imported by ``connectors.files.source``
only, which the factory imports when a run builds the source.
"""
