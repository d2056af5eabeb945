"""nlu: one customer message + the business's catalog and zone + now → intent and slots
(docs/nlu.md). Offline rules by default (`rules.RulesExtractor`); Groq when GROQ_API_KEY is
set (`adapters.groq.GroqExtractor`), falling back to the rules on any failure."""
