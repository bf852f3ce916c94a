"""One module per step kind, and the registry of them all (``registry``).

Each module's docstring is the user reference for its op. A step that runs per record writes
its behaviour once, through ``proxy.pipeline.writer`` (``emit``); the others are plain Python
(``apply``).

May import: ``proxy.pipeline`` (the step base, paths, rules, fusion), ``engine.exchange``,
``providers`` (provider conventions), ``codecs`` (key casing) and ``callbacks`` (the callback
URL issuer). Nothing in ``proxy.pipeline`` imports this package.
"""
