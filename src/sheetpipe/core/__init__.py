"""The pure engine: sheet values in, desired values and a change set out.

Nothing in here touches files, the network or the clock: callers pass `now`.
"""
