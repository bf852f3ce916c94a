"""One module per step kind. Each module's docstring is the user reference for its op."""
