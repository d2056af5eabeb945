"""Outside systems nlu talks to: Groq (the offline rules need none)."""
