"""Entry point: ``python -m simulators.environment``."""

from simulators.environment.app import main

if __name__ == "__main__":
    main()
