"""``python -m jlac``: the ``jlac`` command."""

from jlac.launch import main

main()
