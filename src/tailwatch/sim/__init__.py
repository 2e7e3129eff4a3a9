"""Scenario simulator for tests and `tailwatch demo`: trips with climb/cruise/descent profiles
and ground segments, other traffic, and a receiver-coverage model that drops what nobody hears.
Everything it produces is simulated and labelled so (`source` = "simulated")."""

from tailwatch.sim.coverage import Coverage, Receiver
from tailwatch.sim.scenario import Scenario, demo_scenario
from tailwatch.sim.trips import LegPlan, Performance, simulate_leg, simulate_traffic, simulate_trip

__all__ = ["Coverage", "Receiver", "Scenario", "demo_scenario", "LegPlan", "Performance", "simulate_leg",
           "simulate_traffic", "simulate_trip"]
