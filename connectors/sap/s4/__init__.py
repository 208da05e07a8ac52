"""S/4HANA Journal Entry – Post (sync SOAP, SAP_COM_0002) with OData read-back (SAP_COM_0303)."""
