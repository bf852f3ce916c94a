"""The built-in Plivo-style mock upstream: the demo's backend and the tests' strict fake."""
