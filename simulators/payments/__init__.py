"""Payment provider simulator: idempotent intents, a hosted payment page, signed webhooks."""
