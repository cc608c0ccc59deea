"""Entry point: ``python -m simulators.labour``."""

from simulators.labour.app import main

if __name__ == "__main__":
    main()
