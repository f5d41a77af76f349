"""``python -m jlac``: the ``jlac`` command."""

from jlac.cli import main

main()
