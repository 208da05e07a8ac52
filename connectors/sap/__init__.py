"""SAP destinations: S/4HANA (SOAP journal entries, OData read-back), Business One, IDoc files."""
