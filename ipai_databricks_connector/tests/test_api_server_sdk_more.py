"""More of the Jobs, SQL and workspace calls a user of the official ``databricks-sdk`` makes,
against the local Databricks API server: listing with the SDK's pagination, one-time runs,
run output per task run, deletes, cancel-all, warehouse health, the current user."""

import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import BadRequest, InvalidParameterValue, ResourceDoesNotExist
from databricks.sdk.service import jobs, sql

from odoo.tests import BaseCase

from ..lakehouse.devserver import DatabricksApiServer
from ..lakehouse.local_backend import LocalLakehouse

TOKEN = "dapi-sdk-more"
WH = "local-warehouse"
WAIT = dt.timedelta(seconds=30)


class TestApiServerWithTheSdkMore(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = Path(tempfile.mkdtemp(prefix="ipai_sdk_more_"))
        cls.addClassCleanup(shutil.rmtree, cls.root, True)
        cls.lake = LocalLakehouse(str(cls.root))
        cls.lake.write_table("lab.gold.items", pa.table({"id": pa.array(range(25), pa.int64())}))
        (cls.root / "jobs").mkdir()
        (cls.root / "jobs" / "copy.sql").write_text(
            "CREATE OR REPLACE TABLE lab.silver.items AS SELECT id FROM lab.gold.items;\n")
        (cls.root / "jobs" / "once.sql").write_text(
            "CREATE OR REPLACE TABLE lab.silver.once AS SELECT count(*) AS n "
            "FROM lab.gold.items;\n")
        (cls.root / "jobs" / "broken.sql").write_text(
            "CREATE OR REPLACE TABLE lab.silver.none AS SELECT * FROM lab.bronze.missing;\n")
        cls.server = DatabricksApiServer(str(cls.root), TOKEN, chunk_rows=10).start()
        cls.addClassCleanup(cls.server.stop)
        cls.w = WorkspaceClient(host=cls.server.url, token=TOKEN, auth_type="pat")

    @staticmethod
    def sql_task(path="jobs/copy.sql"):
        return jobs.SqlTask(warehouse_id=WH, file=jobs.SqlTaskFile(path=path))

    def create_job(self, name, *paths):
        return self.w.jobs.create(name=name, tasks=[
            jobs.Task(task_key="t%d" % i, sql_task=self.sql_task(path))
            for i, path in enumerate(paths or ["jobs/copy.sql"])]).job_id

    def calls(self, path):
        return sum(1 for method, seen in self.server.requests if seen == path)

    def slow_tasks(self, seconds=3):
        self.server.task_delay = seconds
        self.addCleanup(setattr, self.server, "task_delay", 0)

    # -- jobs -----------------------------------------------------------------------------

    def test_jobs_list_pages_by_limit_and_names_match_case_insensitively(self):
        created = [self.create_job("Paged Job") for _ in range(3)]
        before = self.calls("/api/2.2/jobs/list")
        listed = [j.job_id for j in self.w.jobs.list(name="paged job", limit=2)]
        self.assertEqual(sorted(listed), created)
        self.assertEqual(self.calls("/api/2.2/jobs/list") - before, 2,
                         "two pages of at most 2 jobs, the SDK following next_page_token")
        self.assertEqual(len(set(listed)), 3, "no job on two pages")
        for limit in (0, 101):
            with self.subTest(limit=limit), self.assertRaises(InvalidParameterValue):
                list(self.w.jobs.list(limit=limit))
        with self.assertRaises(InvalidParameterValue):
            list(self.w.jobs.list(page_token="not-a-token"))

    def test_a_deleted_job_is_gone_and_cannot_run(self):
        job_id = self.create_job("to-delete")
        self.assertEqual(self.w.jobs.get(job_id).settings.name, "to-delete")
        self.w.jobs.delete(job_id)
        with self.assertRaises(ResourceDoesNotExist):
            self.w.jobs.get(job_id)
        self.assertNotIn(job_id, [j.job_id for j in self.w.jobs.list(name="to-delete")])
        # as a workspace answers for a job that does not exist: 400, not 404
        with self.assertRaisesRegex(InvalidParameterValue, "Job %s does not exist" % job_id):
            self.w.jobs.run_now(job_id=job_id)
        with self.assertRaises(InvalidParameterValue):
            self.w.jobs.delete(job_id)
        with DatabricksApiServer(str(self.root), TOKEN) as again:  # the delete is saved
            client = WorkspaceClient(host=again.url, token=TOKEN, auth_type="pat")
            with self.assertRaises(ResourceDoesNotExist):
                client.jobs.get(job_id)

    def test_cancel_all_runs_cancels_the_active_runs_of_that_job_only(self):
        job_id, other = self.create_job("cancel-all"), self.create_job("keep-going")
        self.slow_tasks(3)
        runs = [self.w.jobs.run_now(job_id=job_id).response.run_id for _ in range(2)]
        kept = self.w.jobs.run_now(job_id=other).response.run_id
        self.w.jobs.cancel_all_runs(job_id=job_id)
        for run_id in runs:
            run = self.w.jobs.wait_get_run_job_terminated_or_skipped(run_id, timeout=WAIT)
            self.assertEqual(run.state.result_state, jobs.RunResultState.CANCELED)
        run = self.w.jobs.wait_get_run_job_terminated_or_skipped(kept, timeout=WAIT)
        self.assertEqual(run.state.result_state, jobs.RunResultState.SUCCESS)
        with self.assertRaises(InvalidParameterValue):  # neither a job nor all_queued_runs
            self.w.jobs.cancel_all_runs()

    def test_submit_a_one_time_run_and_wait_for_it(self):
        waiter = self.w.jobs.submit(run_name="one-off", idempotency_token="odoo-once-1",
                                    tasks=[jobs.SubmitTask(task_key="once",
                                                           sql_task=self.sql_task("jobs/once.sql"))])
        run = waiter.result(timeout=WAIT)
        self.assertEqual((run.run_id, run.run_name, run.run_type),
                         (waiter.run_id, "one-off", jobs.RunType.SUBMIT_RUN))
        self.assertEqual(run.state.life_cycle_state, jobs.RunLifeCycleState.TERMINATED)
        self.assertEqual(run.state.result_state, jobs.RunResultState.SUCCESS)
        self.assertEqual([t.task_key for t in run.tasks], ["once"])
        count = self.lake.execute("SELECT n FROM lab.silver.once").read_all()
        self.assertEqual(count.column("n").to_pylist(), [25])
        again = self.w.jobs.submit(run_name="one-off", idempotency_token="odoo-once-1", tasks=[
            jobs.SubmitTask(task_key="once", sql_task=self.sql_task("jobs/once.sql"))])
        self.assertEqual(again.run_id, run.run_id, "a retried submit starts no second run")
        self.assertNotIn(run.job_id, [j.job_id for j in self.w.jobs.list()],
                         "a one-time run is no saved job")
        listed = list(self.w.jobs.list_runs(run_type=jobs.RunType.SUBMIT_RUN))
        self.assertEqual([r.run_id for r in listed], [run.run_id])
        # what the local server cannot run is refused up front, in the API's terms
        with self.assertRaisesRegex(InvalidParameterValue, "notebook_task"):
            self.w.jobs.submit(run_name="nb", tasks=[jobs.SubmitTask(
                task_key="nb", notebook_task=jobs.NotebookTask(notebook_path="/Shared/x"))])
        with self.assertRaisesRegex(InvalidParameterValue, "notebook_task"):
            self.w.jobs.create(name="nb", tasks=[jobs.Task(
                task_key="nb", notebook_task=jobs.NotebookTask(notebook_path="/Shared/x"))])

    def test_run_output_is_per_task_run(self):
        job_id = self.create_job("outputs", "jobs/copy.sql", "jobs/broken.sql")
        run = self.w.jobs.run_now(job_id=job_id).result(timeout=WAIT)
        self.assertEqual(run.state.life_cycle_state, jobs.RunLifeCycleState.TERMINATED)
        with self.assertRaisesRegex(InvalidParameterValue, "multiple tasks"):
            self.w.jobs.get_run_output(run.run_id)
        tasks = {t.task_key: t for t in run.tasks}
        good = self.w.jobs.get_run_output(tasks["t0"].run_id)
        self.assertEqual((good.metadata.run_id, good.metadata.job_run_id, good.metadata.job_id),
                         (tasks["t0"].run_id, run.run_id, job_id))
        self.assertEqual(good.metadata.state.result_state, jobs.RunResultState.SUCCESS)
        self.assertIsNone(good.error)
        self.assertEqual(good.sql_output.file_output.warehouse_id, WH)
        self.assertIn("CREATE OR REPLACE TABLE lab.silver.items", good.sql_output.file_output
                      .query_text)
        bad = self.w.jobs.get_run_output(tasks["t1"].run_id)
        self.assertEqual(bad.metadata.state.result_state, jobs.RunResultState.FAILED)
        self.assertEqual(bad.metadata.status.termination_details.code,
                         jobs.TerminationCodeCode.RUN_EXECUTION_ERROR)
        self.assertIn("TABLE_OR_VIEW_NOT_FOUND", bad.error)
        with self.assertRaises(ResourceDoesNotExist):
            self.w.jobs.get_run_output(99999999)

    def test_list_runs_pages_expands_tasks_and_filters_completed(self):
        job_id = self.create_job("listed")
        done = [self.w.jobs.run_now(job_id=job_id).result(timeout=WAIT).run_id
                for _ in range(3)]
        self.slow_tasks(3)
        active = self.w.jobs.run_now(job_id=job_id).response.run_id
        self.addCleanup(self.w.jobs.cancel_run, active)
        before = self.calls("/api/2.2/jobs/runs/list")
        listed = list(self.w.jobs.list_runs(job_id=job_id, limit=2))
        self.assertEqual([r.run_id for r in listed], [active, *reversed(done)])
        self.assertEqual(self.calls("/api/2.2/jobs/runs/list") - before, 2)
        self.assertEqual([r.tasks for r in listed], [[]] * 4, "tasks only with expand_tasks")
        expanded = list(self.w.jobs.list_runs(job_id=job_id, expand_tasks=True))
        self.assertEqual([[t.task_key for t in r.tasks] for r in expanded], [["t0"]] * 4)
        completed = list(self.w.jobs.list_runs(job_id=job_id, completed_only=True))
        self.assertEqual([r.run_id for r in completed], list(reversed(done)))
        with self.assertRaises(InvalidParameterValue):
            list(self.w.jobs.list_runs(job_id=job_id, active_only=True, completed_only=True))
        with self.assertRaises(InvalidParameterValue):
            list(self.w.jobs.list_runs(job_id=job_id, limit=26))

    def test_delete_run_forgets_a_finished_run_and_refuses_an_active_one(self):
        job_id = self.create_job("delete-run")
        finished = self.w.jobs.run_now(job_id=job_id, idempotency_token="odoo-del-1") \
            .result(timeout=WAIT).run_id
        self.w.jobs.delete_run(finished)
        with self.assertRaises(ResourceDoesNotExist):
            self.w.jobs.get_run(finished)
        self.assertEqual(list(self.w.jobs.list_runs(job_id=job_id)), [])
        with self.assertRaisesRegex(InvalidParameterValue, "deleted"):
            self.w.jobs.run_now(job_id=job_id, idempotency_token="odoo-del-1")
        self.slow_tasks(3)
        active = self.w.jobs.run_now(job_id=job_id).response.run_id
        with self.assertRaises(BadRequest):
            self.w.jobs.delete_run(active)
        self.w.jobs.cancel_run(active)
        self.w.jobs.wait_get_run_job_terminated_or_skipped(active, timeout=WAIT)
        self.w.jobs.delete_run(active)  # ended: it can go now

    # -- warehouses, workspace ------------------------------------------------

    def test_warehouse_health_and_its_waiters(self):
        self.addCleanup(lambda: self.w.warehouses.start(WH).result())
        running = self.w.warehouses.get(WH)
        self.assertEqual(running.health.status, sql.Status.HEALTHY)
        self.assertEqual(running.odbc_params.path, "/sql/1.0/warehouses/%s" % WH)
        self.assertEqual(running.odbc_params.port, self.server.port)
        stopped = self.w.warehouses.stop(WH).result(timeout=WAIT)
        self.assertEqual(stopped.state, sql.State.STOPPED)
        self.assertIsNone(stopped.health.status, "no health while stopped")
        started = self.w.warehouses.start(WH).result(timeout=WAIT)
        self.assertEqual((started.state, started.health.status),
                         (sql.State.RUNNING, sql.Status.HEALTHY))

    def test_current_user_answers_for_the_token(self):
        me = self.w.current_user.me()
        self.assertEqual((me.user_name, me.active), ("local", True))
        self.assertTrue(me.id)
        wrong = WorkspaceClient(host=self.server.url, token="dapi-wrong", auth_type="pat")
        start = time.monotonic()
        with self.assertRaisesRegex(Exception, "Credential was not sent"):
            wrong.current_user.me()
        self.assertLess(time.monotonic() - start, 10, "a bad token is no retry")
