"""Offline evaluation: temporal split, protocol, reports."""
