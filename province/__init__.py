"""The province's side of protocol v1, shared by the `loa` command (tools/) and the fleet simulator (sim/): signing
keys, the device CA, the locked-down broker's configuration, and the console's link (sign, publish, follow acks).

Must not import tools/ or sim/.
"""
