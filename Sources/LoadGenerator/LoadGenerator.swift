// LoadGenerator module: see docs/ARCHITECTURE.md.
