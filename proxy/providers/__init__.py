"""What Dialect knows of each provider: one package per provider (its REST conventions and its
strict mock), and the call-control documents both speak (``documents``).

May import: ``codecs``, ``pipeline.converters`` (the mocks build records with the same
converters the rules use), ``callbacks.signatures`` (the mocks' carrier signs its callbacks as
the provider does) and ``engine.errors``. Rules and the engine read provider knowledge
from here; nothing here runs a request.
"""
