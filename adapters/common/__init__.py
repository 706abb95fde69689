"""Pieces shared by the carrier adapters and the simulator."""
