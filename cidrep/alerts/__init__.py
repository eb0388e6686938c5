"""Alerts: confirmed changes, recorded as flips and delivered once per channel.

``rules`` decides (pure), ``evaluate`` records flips and their deliveries after a
run, ``outbox`` delivers them through the channel plugins, ``messages`` builds what
is said, ``digest`` summarises a period.
"""
