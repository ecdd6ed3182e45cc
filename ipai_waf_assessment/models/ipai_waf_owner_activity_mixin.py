# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
from odoo import api, fields, models
from odoo.fields import Domain

TODO_TYPE = "mail.mail_activity_data_todo"
SYNC_FIELDS = {"owner_id", "due_date", "state"}


class IpaiWafOwnerActivityMixin(models.AbstractModel):
    """A risk or recommendation with an owner and a due date is a To-Do of its owner.

    One automated To-Do activity per record, due on the record's due date, assigned to
    its owner. Changing the owner or the date moves that activity (never a second one);
    clearing either removes it; closing the record (``_owner_activity_closed_states``)
    marks it done, which leaves the usual "done" message in the chatter. To-Dos that
    people schedule by hand are not automated and are left alone.

    Models using it define ``owner_id``, ``due_date``, ``state`` and ``title``.
    """

    _name = "ipai.waf.owner.activity.mixin"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Well-Architected Owner Reminder"

    _owner_activity_closed_states = ()

    is_overdue = fields.Boolean(
        compute="_compute_is_overdue", search="_search_is_overdue",
        help="Open, and its due date has passed.")

    @api.depends("due_date", "state")
    def _compute_is_overdue(self):
        today = fields.Date.context_today(self)
        for rec in self:
            rec.is_overdue = bool(
                rec.due_date and rec.due_date < today
                and rec.state not in self._owner_activity_closed_states)

    def _search_is_overdue(self, operator, value):
        if operator not in ("in", "not in"):
            return NotImplemented
        overdue = Domain("due_date", "<", fields.Date.context_today(self)) & Domain(
            "state", "not in", list(self._owner_activity_closed_states))
        return overdue if (True in value) == (operator == "in") else ~overdue

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        # New records have no To-Do to move or close: only those due get one, so an
        # import of a thousand items costs no activity search per item.
        for rec in records:
            if rec.owner_id and rec.due_date and \
                    rec.state not in self._owner_activity_closed_states:
                rec._schedule_owner_activity()
        return records

    def write(self, vals):
        res = super().write(vals)
        if SYNC_FIELDS & set(vals):
            self._sync_owner_activity()
        return res

    def _owner_activity_summary(self):
        self.ensure_one()
        return self.env._("Due: %s", self.title)

    def _sync_owner_activity(self):
        """Create, move, remove or close the owner's To-Do of each record."""
        for rec in self:
            activities = rec.activity_search([TODO_TYPE], only_automated=True)
            if rec.state in self._owner_activity_closed_states:
                if activities:
                    activities.action_feedback(feedback=self.env._(
                        "Closed: %s", dict(rec._fields["state"]._description_selection(
                            self.env)).get(rec.state, rec.state)))
            elif not (rec.owner_id and rec.due_date):
                activities.unlink()
            elif activities:
                activities[0].write({
                    "user_id": rec.owner_id.id, "date_deadline": rec.due_date,
                    "summary": rec._owner_activity_summary(),
                })
                activities[1:].unlink()
            else:
                rec._schedule_owner_activity()

    def _schedule_owner_activity(self):
        self.ensure_one()
        self.activity_schedule(
            TODO_TYPE, date_deadline=self.due_date, user_id=self.owner_id.id,
            summary=self._owner_activity_summary())
