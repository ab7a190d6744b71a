"""One folder per service of the pipeline: fetcher → router → ticket_store → mailer.

Services talk only through Kafka topics and the events in `schemas/`; none imports
another's internals (an import-linter contract). Each may import the kernel.
"""
