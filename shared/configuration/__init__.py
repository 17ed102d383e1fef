"""Settings from the environment, the TOML config file and its presets."""
