"""Running services: one definition per service (`definition`), hosted alone in its own
process (`process`) or together in one (`host`, used by the demo and the scenario runner)."""
