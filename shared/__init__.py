"""What bot frontends and workers both import. Imports no chat SDK and no model library."""
