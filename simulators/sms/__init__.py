"""SMS provider simulator: an HTTP API that accepts text messages and records them."""
