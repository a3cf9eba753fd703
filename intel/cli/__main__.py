"""``python -m intel.cli``: the same command line as the ``intel`` entry point."""

from intel.cli import main

main()
