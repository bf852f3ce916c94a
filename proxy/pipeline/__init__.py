"""The rule engine: data paths, the step base class, the explicit step registry, and the runner."""
