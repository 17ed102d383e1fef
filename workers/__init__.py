"""RQ job functions, the prompt pipeline, image backends and result events. Imports no chat SDK."""
