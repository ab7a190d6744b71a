"""Replay: today's rules on raw mail from `mail.raw`, compared with what was recorded.

`engine` (the dry run: reads only), `reading` (the topics it reads), `apply` (sending
commands and confirming their outcomes), `commands` (the router's side of --apply).
The report model is `schemas.replay` (shared with the pages that show it).
"""
