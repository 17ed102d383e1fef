"""Images: encoding with their parameters, the stores (Redis, a directory, S3), untrusted bytes
decoded in one place, members' pictures, and the content check of results."""
