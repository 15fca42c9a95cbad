"""Subcommands of the ``scopeguard`` CLI, one module each (listed in ``cli.main.COMMANDS``)."""
