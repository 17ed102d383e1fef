"""The text and vision models: the one OpenAI client factory, moderation, describing pictures."""
