"""`loa gateway`: makes a Loa fleet appear inside a province's existing HTTTN (the source information system).

Southbound it reads Loa protocol v1 reports as a console; northbound it speaks the HTTTN's REST dialect, which is
data in a profile (profile.py), never code; with [inbound] it also serves the HTTTN's calls (inbound.py) and signs
them with its own scoped key. Must not import the agent's runtime or adapters.
"""
