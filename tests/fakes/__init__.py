"""Local HTTP servers that speak the wire formats of the outside services, for the real clients."""
