# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Write an assessment in the anchors' formats, so a review can move to their tools.

- :mod:`.aws_lens`: an AWS Well-Architected custom lens (JSON, schema 2021-11-01), with
  the answers beside it;
- :mod:`.azure_checklist`: an Azure review checklist (JSON of Azure/review-checklists),
  with a status and comments per item.

Both read a list of :class:`ExportFinding` (plain data, no ORM) and return an
:class:`ExportResult`: the document and notes (one line each) on what the target format
could not express. What they write is exactly what the importers next door
(:mod:`..importers`) read, so an export imported again gives the same findings; the
statuses a format cannot express are listed in ``AWS_STATUS_MAPPING`` and
``AZURE_STATUS_MAPPING``.
"""

from .aws_lens import AWS_STATUS_MAPPING, export_aws_lens, lens_problems
from .azure_checklist import AZURE_STATUS_MAPPING, checklist_problems, export_azure_checklist
from .common import ExportError, ExportFinding, ExportResult, shared_source_name

__all__ = [
    "AWS_STATUS_MAPPING", "AZURE_STATUS_MAPPING", "ExportError", "ExportFinding",
    "ExportResult", "checklist_problems", "export_aws_lens", "export_azure_checklist",
    "lens_problems", "shared_source_name",
]
