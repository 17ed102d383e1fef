"""What bot frontends and workers both import, by concept: configuration, drawing (requests, sizes,
backends), quotas, jobs (the queue), imaging, delivery (result streams), members, ops, textmodels,
and messages; errors, Redis keys and durations at the top. Imports no chat SDK and no model library,
and names no platform."""
