"""Helpers the tests share: fixed calendar, hand-made worlds, synthetic experiments, writers."""
