"""calendar: bookings mirrored into each business's Google Calendar, and the business's own
busy times read back so availability can block them (docs/architecture.md, "Calendar")."""
