"""Entry point: ``python -m simulators.local_admin``."""

from simulators.local_admin.app import main

if __name__ == "__main__":
    main()
