"""Plivo (v1): ``api_id``, local times with offsets, error bodies, ``meta`` + ``objects`` lists
(``rest``), and the strict Plivo-style mock used by ``url: demo`` and the tests (``mock``)."""
