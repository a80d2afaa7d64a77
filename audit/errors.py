"""Exceptions every floor may raise. They live on the ground floor so that any app can import them."""


class Conflict(Exception):
    """A lifecycle action asked of an object in the wrong state (the API answers 409)."""
