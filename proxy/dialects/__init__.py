"""Provider knowledge, one module per provider: identifiers, dates, errors, list envelopes."""
