"""Twilio (2010-04-01): SIDs, RFC 2822 dates, error bodies, list envelopes and page tokens
(``rest``), and the strict Twilio-style mock used by ``url: demo`` and the tests (``mock``)."""
