"""What a request asks for and how it is checked: the request model, sizes, the backends and what
each can do, prompt parts and engine tags, and the choices members are offered."""
