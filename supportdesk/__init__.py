"""The composition root: the `supportdesk` console script (`cli`, `cli_gateway`,
`cli_support`), the demo data (`demo`) and the single-node Kafka launcher (`broker`).

It may import every service and the kernel, to wire them together. Nothing imports
it: not the services, not the kernel, not the events (an import-linter contract).
"""
