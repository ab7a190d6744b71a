"""The seed's rules, one module each, named for what it decides: `parse`, `automatic`
(bounces, auto-replies, loops; the table in `automatic_table`), `recipient`, `empty`,
`thread` (with `cc`, its half for Cc'd senders), `client`, `incidents`. Each has one
`check`; `pipeline.RULES` is the order.
"""
