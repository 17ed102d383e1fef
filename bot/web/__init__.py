"""`imagine web`: the bot in a browser, a platform like Discord and Slack, with no chat token."""
