"""Conversation scenarios (docs/conversations.md): the YAML acceptance format and its runner.

The runner drives the whole system through `ScenarioDriver` (driver.py) so that parsing,
checking and reporting can be tested without a database or a bus, and so the one real
driver (every service composed in one process on a simulated clock) is a separate concern.
"""

from __future__ import annotations

from receptionist.scenarios.driver import DriverFactory, ScenarioDriver, SentMessage
from receptionist.scenarios.model import Scenario, ScenarioError, Step, load_scenario
from receptionist.scenarios.runner import add_arguments, main, run_files

__all__ = [
    "DriverFactory",
    "Scenario",
    "ScenarioDriver",
    "ScenarioError",
    "SentMessage",
    "Step",
    "add_arguments",
    "load_scenario",
    "main",
    "run_files",
]
