import json

from odoo import api, fields, models

from ..resilience import vault as vault_lib

PAYLOAD_RETENTION_DAYS = 30  # failed jobs keep their request for a requeue this long
LIVE_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started", "failed")


class IpaiGatewayJobPayload(models.Model):
    """The request of a queued call (path, query, body, headers, idempotency key),
    encrypted with the vault. The job itself stores only the service code, the
    method and this record's id, so ``queue_job.kwargs`` and ``func_string``
    hold no request data. No group may read this model: only the gateway's code,
    under sudo. The row is deleted with the job's success, and by the autovacuum
    once its job is done, cancelled, gone, or failed for ``PAYLOAD_RETENTION_DAYS``.

    ``sent_at`` is written, in a transaction of its own, just before a
    non-idempotent request without idempotency key leaves: a later run of the
    same job (a retry, a requeue after a worker died) then knows it may have
    reached the service and does not send it again.
    """

    _name = "ipai.gateway.job.payload"
    _description = "Gateway queued request (encrypted)"

    job_uuid = fields.Char(index=True, readonly=True)
    ciphertext = fields.Text(required=True, copy=False)
    sent_at = fields.Datetime(readonly=True, copy=False)

    @api.model
    def _store(self, request):
        """Encrypt ``request`` (a JSON-serializable dict) and return the new record."""
        ciphertext = self.env["ipai.gateway.secret"]._vault().encrypt(json.dumps(request))
        # sudo: nobody has access rights on payloads; the caller was checked by call_async.
        return self.sudo().create({"ciphertext": ciphertext})

    def _open(self):
        """The decrypted request dict."""
        self.ensure_one()
        try:
            return json.loads(self.env["ipai.gateway.secret"]._vault().decrypt(self.ciphertext))
        except vault_lib.VaultDecryptError as exc:
            raise self.env["ipai.gateway.secret"]._undecryptable(
                "queued request", self.job_uuid or "-") from exc

    def _set_sent(self, sent):
        """Mark (or unmark) the request as possibly sent, in a committed transaction
        of its own: the mark must survive the job's rollback and the worker's death."""
        self.ensure_one()
        with self.env.registry.cursor() as cr:
            cr.execute(
                "UPDATE ipai_gateway_job_payload SET sent_at = CASE WHEN %s "
                "THEN now() at time zone 'UTC' END WHERE id = %s",
                [bool(sent), self.id],
            )
        self.invalidate_recordset(["sent_at"])

    @api.autovacuum
    def _gc_payloads(self):
        """Delete the requests of jobs that are done, cancelled or gone, and of jobs
        failed (kept for a requeue) more than PAYLOAD_RETENTION_DAYS ago."""
        self.env.cr.execute(
            """
            DELETE FROM ipai_gateway_job_payload p
             WHERE p.create_date < now() at time zone 'UTC' - interval '1 hour'
               AND NOT EXISTS (
                   SELECT 1 FROM queue_job j
                    WHERE j.uuid = p.job_uuid AND j.state IN %s
                      AND (j.state != 'failed'
                           OR j.date_created >= now() at time zone 'UTC'
                                                - make_interval(days => %s)))
            """,
            [LIVE_JOB_STATES, PAYLOAD_RETENTION_DAYS],
        )
        return self.env.cr.rowcount
