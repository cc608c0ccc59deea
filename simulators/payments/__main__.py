"""Entry point: ``python -m simulators.payments``."""

from simulators.payments.app import main

if __name__ == "__main__":
    main()
