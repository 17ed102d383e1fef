"""Member interactions written once for every platform: each module owns one interaction's sequence
(its checks, the intake, its answers). Platforms translate their events into these calls and
implement `Surface` (bot/interactions/surface.py); they decide nothing an interaction does."""
