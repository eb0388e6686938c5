"""Recorded labels: what people saw (``cidrep sighting``) and what other tools exported
(``cidrep labels import``), stored as dated per-carrier observations.

A label a called party saw on a T-Mobile phone, or a row in a carrier portal's or
another vendor's export, is an observation like any check's: it goes through the
same writer into the same per-carrier history and state
(``store.history.ObservationWriter.add_answers`` with its date), so reports, alerts
and exports treat it like any source, and a vendor switch keeps the history. The
source is marked *recorded*: it is never stale, since nobody promised a next check.
"""
