"""In-app notifications, thread watch levels, and the optional hourly email (see services)."""
