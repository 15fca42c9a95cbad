"""Subcommands of the ``scopeguard`` CLI, one module each (listed in ``classifier.cli.COMMANDS``)."""
