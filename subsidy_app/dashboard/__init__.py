"""The bureau's dashboard: applications, budget pools, recovery against the 2027 targets and the closed loop."""
