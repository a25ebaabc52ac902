"""The fleet simulator: thousands of real agent cores (agent.core.device) with fake hardware, each on its own MQTT
connection, driven from a few single-threaded shard processes. See sim/README.md.

sim may import agent (and the broker/key helpers of tools); agent must never import sim.
"""
