// InferenceEngine module: see docs/ARCHITECTURE.md.
