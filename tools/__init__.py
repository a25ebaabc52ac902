"""The `loa` command line: keys, provisioning, the local broker, the provincial console, the demo."""
