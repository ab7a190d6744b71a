"""Chaos run of the whole pipeline (issue 12, item 7): two instances of every service on
real parts, random SIGKILLs, a broker kill and a database stop, then every count checked.

`python -m bench.chaos` (what `make chaos` runs) prints the recovery figures;
tests/chaos runs a bounded version in `make test`.
"""
