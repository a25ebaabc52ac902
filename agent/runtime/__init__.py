"""The runtime: one event loop that receives every callback and feeds the core; the composition root builds it."""
