"""Vigil hub: publish geofenced alerts once, reach every partner inside the area."""
