"""Frontends: the `imagine` command and one thin adapter per chat platform around a neutral core."""
