"""A local stand-in for CCC: a real HTTP server speaking the same wire protocol."""

from dialer.ccc.simulator.server import Simulator
from dialer.ccc.simulator.state import Faults, SimulatorConfig

__all__ = ["Faults", "Simulator", "SimulatorConfig"]
