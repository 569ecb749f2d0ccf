"""Where models come from. Each source turns a parsed reference into a verified blob."""
