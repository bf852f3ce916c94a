"""Running the proxy as a process: serving a config (``serve``), the generation a SIGHUP
replaces atomically (``generation``), worker processes under a supervisor (``workers``), and
what an install says about itself (``build_info``).

May import every other layer; nothing imports it but ``proxy.cli``, and ``proxy/__init__.py``,
which runs ``build_info.guard`` (standard library only) before anything compiled is imported.
"""
