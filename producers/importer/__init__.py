"""CRM exports (CSV) to events: reading, the column map, rows to event JSON with stable ids."""
