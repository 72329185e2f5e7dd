"""HTTP glue every function shares: resolver factory, auth, wire models, error mapping."""
