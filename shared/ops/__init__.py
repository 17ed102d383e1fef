"""Running it: Redis connections, health, metrics, logs."""
