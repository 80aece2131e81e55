"""rewards: the Shop-R1 reward as pure functions, presets, plug-ins and trainer adapters."""
