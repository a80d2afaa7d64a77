"""Exceptions every app may raise."""


class Conflict(Exception):
    """A lifecycle action asked of an object in the wrong state (the API answers 409)."""
