"""The Textual UI. Screens hold no I/O: they call services from workers."""
