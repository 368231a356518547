"""A local stand-in for CCC: a real HTTP server speaking the same wire protocol."""

from dialer.ccc.simulator.calls import caller_overlaps
from dialer.ccc.simulator.faults import Faults, Span
from dialer.ccc.simulator.server import Simulator
from dialer.ccc.simulator.state import SimulatorConfig

__all__ = ["Faults", "Simulator", "SimulatorConfig", "Span", "caller_overlaps"]
