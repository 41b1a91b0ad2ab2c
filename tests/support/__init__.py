"""Helpers behind the shared fixtures in ``tests/conftest.py``: real servers on loopback."""
