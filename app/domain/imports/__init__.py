"""Importing a company's depots, vehicles and orders from a file (CSV, XLSX or JSON).

Pure: a file's bytes become a ``Table`` (``sheets``), its rows checked records or issues by
line and column (``depots``, ``vehicles``, ``orders``), and those records, set against
what is stored, the creates and updates of an ``ImportPlan`` (``changes``). Reading what
is stored and writing the plan is app.storage.import_repository's; app.tower.imports runs
the whole import.
"""
