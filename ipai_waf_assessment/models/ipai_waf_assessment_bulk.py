# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
import json
import logging

from odoo import api, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


class IpaiWafAssessmentBulk(models.AbstractModel):
    """Creating an import's thousands of controls, risks and recommendations in one
    INSERT each, with what create guarantees. Part of ``ipai.waf.assessment``."""

    _name = "ipai.waf.assessment.bulk"
    _description = "Assessment: one-INSERT creations of an import"

    # ------------------------------------------------------------------ bulk insert
    @api.model
    def _import_insert(self, model, rows, compute=None):
        """Insert ``rows`` (dicts of stored fields) of ``model`` in one INSERT; returns
        the records, in the order of ``rows``.

        An import creates thousands of controls, risks and recommendations, and the
        ORM's create cost more than all the rest. This is what create does for them,
        without the per-record work: defaults (the same for every row, so read once),
        the checks and casts of each value, access rights and record rules, the frozen
        guard, Python constraints, the caches of the records they belong to and the
        fields that depend on them. A computed field given in ``rows`` is kept as
        given, as create keeps it; ``compute(row)``, called once defaults are in, gives
        computed fields' values. Not for models whose create does more than store
        values: mail.thread's create does nothing else under ``tracking_disable``,
        which imports use.
        """
        if not rows:
            return model.browse()
        model.check_access("create")
        if "ipai.waf.frozen.guard" in model._inherit:
            model._check_not_frozen(self.browse(
                {row["assessment_id"] for row in rows if row.get("assessment_id")}))
        magic = {"id", "create_uid", "create_date", "write_uid", "write_date"}
        stored = [name for name, field in model._fields.items()
                  if field.store and field.column_type and name not in magic]
        defaults = model.default_get(stored)
        rows = [dict(defaults, **row) for row in rows]
        if compute:
            for row in rows:
                row.update(compute(row))
        fnames = sorted({name for row in rows for name in row})
        fields_ = [model._fields[name] for name in fnames]
        if others := [field.name for field in fields_ if not field.column_type]:
            raise ValueError(f"_import_insert stores columns, not {others}")
        lang = self.env.lang or "en_US"

        def converter(field):
            """What create makes of a value (checks and casts), as JSON."""
            choices = set(field.get_values(self.env)) if field.type == "selection" else None
            text = field.type in ("char", "text") and not getattr(field, "size", None)

            def column(value):
                # the values imports give, taken as they are; the rest as create does
                if field.type == "many2one" and type(value) is int:
                    return value
                if choices is not None and value in choices:
                    return value
                if not (text and type(value) is str):
                    value = field.convert_to_cache(value, model)
                if value is None or (value is False and field.type != "boolean"):
                    return None
                if field.type in ("date", "datetime"):
                    return field.to_string(value)
                if isinstance(value, str):
                    # jsonb refuses NUL, and PostgreSQL text cannot hold it either
                    value = value.replace("\x00", "")
                    if getattr(field, "translate", False):
                        return {"en_US": value, lang: value}
                return value
            return column

        columns = [(name, converter(field)) for name, field in zip(fnames, fields_,
                                                                    strict=True)]
        data = json.dumps([{name: column(row.get(name)) for name, column in columns}
                           for row in rows])
        names = SQL(", ").join(SQL.identifier(name) for name in fnames)
        ids = sorted(row[0] for row in self.env.execute_query(SQL(
            """INSERT INTO %(table)s (%(names)s, create_uid, create_date, write_uid,
                                      write_date)
               SELECT %(values)s, %(uid)s, now() AT TIME ZONE 'UTC', %(uid)s,
                      now() AT TIME ZONE 'UTC'
                 FROM jsonb_to_recordset(%(data)s::jsonb) AS v(%(types)s)
            RETURNING id""",
            table=SQL.identifier(model._table), names=names,
            values=SQL(", ").join(SQL.identifier("v", name) for name in fnames),
            uid=self.env.uid, data=data,
            types=SQL(", ").join(SQL("%s %s", SQL.identifier(field.name),
                                     SQL(field.column_type[1])) for field in fields_))))
        # one function scan: the sequence numbers the rows in the order they were given
        records = model.browse(ids)
        for field in fields_:
            for inverse in self.pool.field_inverses[field]:
                self.env[inverse.model_name].invalidate_model([inverse.name])
        with self.env.protecting([field for field in fields_ if field.compute], records):
            records.modified(list(model._fields), create=True)
        records._validate_fields(fnames)
        records.check_access("create")  # record rules, now that the rows exist
        return records

    @api.model
    def _import_relation(self, records, fname, targets):
        """Link each of ``records`` to its list of ``targets`` ids through the many2many
        ``fname`` (records just made by :meth:`_import_insert`), in one INSERT."""
        field = records._fields[fname]
        pairs = [{"a": record_id, "b": target}
                 for record_id, ids in zip(records.ids, targets, strict=True)
                 for target in dict.fromkeys(ids) if target]
        if not pairs:
            return
        self.env.execute_query(SQL(
            """INSERT INTO %(rel)s (%(a)s, %(b)s)
               SELECT v.a, v.b FROM jsonb_to_recordset(%(pairs)s::jsonb) AS v(a int, b int)
               ON CONFLICT DO NOTHING""",
            rel=SQL.identifier(field.relation), a=SQL.identifier(field.column1),
            b=SQL.identifier(field.column2), pairs=json.dumps(pairs)))
        records.invalidate_recordset([fname])
        records.modified([fname])

    @api.model
    def _import_owner_activities(self, records, vals_list):
        """The owner's To-Do of each new record that is due (the owner reminder mixin's
        create), for records made by :meth:`_import_insert`."""
        closed = records._owner_activity_closed_states
        due = [record_id for record_id, vals in zip(records.ids, vals_list, strict=True)
               if vals.get("owner_id") and vals.get("due_date")
               and vals.get("state") not in closed]
        for record in records.browse(due).with_context(tracking_disable=True):
            record._schedule_owner_activity()

