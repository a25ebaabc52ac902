"""`loa dashboard`: a read-only page for the province (communes, units online/offline, faults, what plays, the last
plays, a map drawn locally), fed by the units' reports over MQTT. It never sends a command.

Must not import the agent's runtime or core decisions; it reads reports like any provincial server.
"""
