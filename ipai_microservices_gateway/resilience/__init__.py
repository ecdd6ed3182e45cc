"""Plain-Python resilience engine of the gateway: no Odoo import here.

The models only load and save state; the policy decisions live in this package
so they can be tested without a database (as OCA queue_job keeps its engine
in ``job.py`` and ``jobrunner/``).
"""
