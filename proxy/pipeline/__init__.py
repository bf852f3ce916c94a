"""The rule engine: how steps are written, compiled and run; no step itself lives here.

What lives here: the path language (``paths``); the rules every step shares, written once as
code templates (``rules``: how paths read, which values are copied, what is present, how
``when`` decides); the ``Step`` base with its vocabulary (``step``: references, templates,
conditions); the writer a step's template goes through (``writer``) and the two forms it makes:
each step's own function, the definition (``one_step``), and whole record pipelines fused into
one function (``record_writer`` writes it, ``fused`` makes it and falls back from it); the
generated code kept visible (``codegen``, ``listing``); the runner; the named converters.

May import: ``engine.exchange`` and ``engine.errors`` (the state a step edits, the error a
failure becomes), ``providers`` (the converters' provider knowledge), ``ops.logs`` and
``ops.metrics`` (fallbacks are logged and counted). Never ``proxy.steps``: the steps and their
registry build on this package, not the other way round.
"""
