"""SAP Business One through the Service Layer (JournalEntries)."""
