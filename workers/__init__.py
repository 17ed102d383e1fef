"""RQ job functions, the prompt pipeline, image backends and delivery. Imports no chat SDK at import time."""
