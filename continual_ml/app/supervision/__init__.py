"""The live system's processes: starting them as children, watching them, restarting them."""
