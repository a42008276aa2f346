"""Use cases, composed from api/, stores/ and core/: called by screens (from workers) and by
headless commands alike. No Textual here."""
