"""The shared kernel: settings, topic names and creation, the claim-check blob store, secrets.

Every service imports it; it imports no service (and nothing from `supportdesk/`,
the composition root). Events live in `schemas/`, not here.
"""
