"""One package per external system. A connector imports only sync.model, sync.money,
sync.errors, sync.dates and sync.destination: never another connector, never the engine."""
