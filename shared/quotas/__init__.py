"""Who may draw how much: the atomic quota, hourly limits, refusals counted for operators, costs."""
