"""SafeBeat: event-safety analytics for Austin 911 calls as a Dagster asset graph."""
