"""The RQ queue and its lanes, a member's jobs, recovery of dead workers' jobs, shared Redis round trips."""
