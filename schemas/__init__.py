"""The events every service exchanges on Kafka (pydantic v2, a schema version on each),
their JSON (de)serialisation (`codec`) and the JSON Schema files for outside consumers.

The only code services share besides the kernel; it imports no service.
"""
