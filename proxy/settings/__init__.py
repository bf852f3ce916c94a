"""Loading, interpolating and validating the YAML config."""

from proxy.settings.loader import load_config, load_config_text

__all__ = ["load_config", "load_config_text"]
