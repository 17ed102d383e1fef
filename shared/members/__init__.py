"""What is kept per member and thread: defaults, thread memory, the gallery, the showcase."""
