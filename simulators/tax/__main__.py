"""Entry point: ``python -m simulators.tax``."""

from simulators.tax.app import main

if __name__ == "__main__":
    main()
