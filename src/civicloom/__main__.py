"""Allow `python -m civicloom`."""

from civicloom.cli import main

main()
