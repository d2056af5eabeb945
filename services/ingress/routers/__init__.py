"""One router per provider, each with a dependency that yields only a verified body."""
