"""Loading, interpolating and validating the YAML config.

The modules, and what each may import:

* ``models``: the schema, ``ConfigModel``, and every section's models re-exported; what code
  outside this package imports. Imports the section modules below.
* ``model_base``: the strict base, the style names and the checks several sections share.
  Imports nothing of the proxy.
* ``upstream_models``, ``server_models``, ``route_models``, ``callback_models``: one section of
  the config each. Import ``model_base`` only (and ``steps.local_time`` inside a validator, the
  one reading of a zone name), never one another: the schema itself adds no import cycle to
  the layers that read it (``http`` reads its limits there).
* ``loader``: reading, interpolating and compiling a config. Imports ``models``, this
  package's ``callbacks``, ``steps.registry`` (compiling steps), ``engine.routing``,
  ``engine.errors`` and ``proxy.callbacks.plan``.
* ``callbacks``: the ``callbacks:`` block compiled. Imports ``models``, ``proxy.callbacks``
  (issuer, plan, tokens, aliases), ``steps.registry`` and ``steps.callback_url``,
  ``pipeline.converters``, ``engine.routing`` and ``providers.documents``.
* ``reference``: ``docs/steps.md`` rendered from the step registry. Imports ``steps.registry``
  and ``pipeline``, nothing of the schema.
"""

from proxy.settings.loader import load_config, load_config_text

__all__ = ["load_config", "load_config_text"]
