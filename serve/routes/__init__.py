"""HTTP routes, one resource per module; each module exposes ``router``."""
