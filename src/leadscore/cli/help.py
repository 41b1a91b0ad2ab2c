"""Help-text helpers shared by every command module."""

from __future__ import annotations


def example(*commands: str) -> str:
    """An epilog with example invocations, kept verbatim (click's ``\\b``: no re-wrapping)."""
    return "\b\nExample:\n" + "\n".join(f"  {command}" for command in commands)
