"""Entry point: ``python -m simulators.sms``."""

from simulators.sms.app import main

if __name__ == "__main__":
    main()
