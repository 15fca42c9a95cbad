"""The ``scopeguard`` command line: the face over the core (``classifier``), ``training`` and ``serve``.

Nothing imports this package back: the core and the service stay usable as libraries.
"""
