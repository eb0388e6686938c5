"""Built-in checker plugins, installed as ``cidrep_plugins``.

They register through the same pluggy hook (``register_checkers``) that a
third-party package uses; ``cidrep.plugins.DEFAULT_PLUGINS`` lists them.
"""
