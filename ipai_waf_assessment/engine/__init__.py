# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Plain-Python engine of the Well-Architected assessment (no Odoo import here).

- ``rubric``: versioned scoring rubric (finding -> pillar -> framework -> overall);
- ``grading``: score -> grade and status label;
- ``risk``: 5x5 likelihood x impact matrix;
- ``importers``: Markdown reports, AWS custom-lens JSON, Azure review-checklist JSON;
- ``exporters``: AWS custom-lens JSON (with answers), Azure review-checklist JSON (with statuses);
- ``scorecard``: JSON Schema of the exported scorecard, content hash, Markdown gaps report.

The Odoo models only load records, call these functions and save the results.
"""

from . import exporters, grading, importers, risk, rubric, scorecard
