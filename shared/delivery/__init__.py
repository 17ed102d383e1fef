"""Results going out: the result streams and publishing each job's answer once."""
