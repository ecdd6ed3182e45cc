"""Jobs API 2.1 of the local server: jobs kept in ``_jobs.json``, runs of SQL-file tasks
(dependency order, idempotency tokens, repair, cancel) in threads."""

import json
import os
import re
import threading

import duckdb

from .encoding import now_ms, used_params
from .errors import ApiError, sql_failure

_SCRIPT = [(re.compile(r"^CREATE\s+OR\s+REPLACE\s+TABLE\s+(\w+\.\w+\.\w+)\s+AS\s+(.+)$",
                       re.I | re.S), "overwrite"),
           (re.compile(r"^INSERT\s+INTO\s+(\w+\.\w+\.\w+)\s+(.+)$", re.I | re.S), "append")]
ROUTES = [
    ("POST", r"/api/2\.[12]/jobs/create", "_job_create"),
    ("GET", r"/api/2\.[12]/jobs/get", "_job_get"),
    ("GET", r"/api/2\.[12]/jobs/list", "_job_list"),
    ("POST", r"/api/2\.[12]/jobs/run-now", "_run_now"),
    ("GET", r"/api/2\.[12]/jobs/runs/get", "_run_get"),
    ("GET", r"/api/2\.[12]/jobs/runs/list", "_run_list"),
    ("POST", r"/api/2\.[12]/jobs/runs/repair", "_run_repair"),
    ("POST", r"/api/2\.[12]/jobs/runs/cancel", "_run_cancel")]


def _with_status(run):
    """A copy of ``run`` with the ``status`` objects the Jobs API now documents beside the
    deprecated ``state`` (on the run and each task)."""
    run = json.loads(json.dumps(run))
    for item in [run, *run.get("tasks", [])]:
        item["status"] = _status(item.get("state") or {})
    return run


_CODES = {"SUCCESS": ("SUCCESS", "SUCCESS"), "FAILED": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
          "CANCELED": ("CANCELED", "SUCCESS"), "UPSTREAM_FAILED": ("SKIPPED", "CLIENT_ERROR"),
          "TIMEDOUT": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
          "INTERNAL_ERROR": ("INTERNAL_ERROR", "INTERNAL_ERROR")}


def _status(state):
    life = state.get("life_cycle_state") or "PENDING"
    if life in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR"):
        code, kind = _CODES.get(state.get("result_state") or "", ("INTERNAL_ERROR",
                                                                 "INTERNAL_ERROR"))
        return {"state": "TERMINATED", "termination_details": {
            "code": code, "type": kind, "message": state.get("state_message") or ""}}
    return {"state": {"TERMINATING": "TERMINATING", "RUNNING": "RUNNING",
                      "QUEUED": "QUEUED", "BLOCKED": "BLOCKED"}.get(life, "PENDING")}


class JobsMixin:
    """Jobs and runs; the server gives ``root``, ``lake``, ``url``, ``_lock``,
    ``_new_id``, ``_jobs``, ``_jobs_file``, ``_runs`` and ``_tokens``."""

    def _load_jobs(self):
        if self._jobs_file and os.path.exists(self._jobs_file):
            with open(self._jobs_file, encoding="utf-8") as handle:
                jobs = {int(k): v for k, v in json.load(handle).items()}
            self._next_id = max([self._next_id, *jobs])
            return jobs
        return {}

    def _save_jobs(self):
        if not self._jobs_file:
            return
        os.makedirs(self.root, exist_ok=True)
        tmp = self._jobs_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self._jobs, handle, indent=1)
        os.replace(tmp, self._jobs_file)  # atomic: a crash never leaves half a file

    def _job(self, job_id):
        try:
            return self._jobs[int(job_id)]
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(404, "Job %s does not exist." % job_id) from exc

    def _job_create(self, req, query):
        tasks = req.get("tasks") or []
        if not tasks or not all(t.get("task_key") for t in tasks):
            raise ApiError(400, "Every task needs a task_key and a job needs at least one task")
        job_id = self._new_id()
        with self._lock:
            self._jobs[job_id] = {"job_id": job_id, "creator_user_name": "local",
                                  "created_time": now_ms(), "settings": req}
            self._save_jobs()
        return {"job_id": job_id}

    def _job_get(self, req, query):
        return self._job(query.get("job_id"))

    def _job_list(self, req, query):
        expand = query.get("expand_tasks") == "true"
        with self._lock:
            jobs = [dict(j, settings={k: v for k, v in j["settings"].items()
                                      if expand or k != "tasks"})
                    for j in self._jobs.values()
                    if not query.get("name") or j["settings"].get("name") == query["name"]]
        return {"jobs": jobs, "has_more": False}

    def _run(self, run_id):
        try:
            return self._runs[int(run_id)]
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(404, "Run %s does not exist." % run_id) from exc

    def _run_now(self, req, query):
        job = self._job(req.get("job_id"))
        token = req.get("idempotency_token")
        if token is not None and (not isinstance(token, str) or len(token) > 64):
            raise ApiError(400, "idempotency_token must be a string of at most 64 characters",
                           "INVALID_PARAMETER_VALUE")
        with self._lock:
            if token and token in self._tokens:  # a retried request never starts a second run
                return {"run_id": self._tokens[token], "number_in_job": self._tokens[token]}
            run_id = self._new_id()
            if token:
                self._tokens[token] = run_id
            params = {p["name"]: p.get("default") for p in job["settings"].get("parameters") or []}
            params.update(req.get("job_parameters") or {})
            tasks = [{"task_key": t["task_key"], "run_id": self._new_id(), "attempt_number": 0,
                      "depends_on": t.get("depends_on") or [], "sql_task": t.get("sql_task"),
                      "state": {"life_cycle_state": "PENDING", "state_message": ""}}
                     for t in job["settings"]["tasks"]]
            run = {"job_id": job["job_id"], "run_id": run_id, "number_in_job": run_id,
                   "run_name": job["settings"].get("name") or "Untitled",
                   "creator_user_name": "local", "trigger": "ONE_TIME", "run_type": "JOB_RUN",
                   "run_page_url": "%s/#job/%s/run/%s" % (self.url, job["job_id"], run_id),
                   "state": {"life_cycle_state": "PENDING", "state_message": ""},
                   "start_time": now_ms(), "end_time": 0, "setup_duration": 0,
                   "execution_duration": 0, "cleanup_duration": 0, "run_duration": 0,
                   "job_parameters": [{"name": k, "value": v} for k, v in params.items()],
                   "tasks": tasks, "repair_history": [
                       {"type": "ORIGINAL", "start_time": now_ms(), "end_time": 0,
                        "state": {"life_cycle_state": "PENDING"},
                        "task_run_ids": [t["run_id"] for t in tasks]}]}
            self._runs[run_id] = {"run": run, "params": params, "cancel": threading.Event()}
        keys = {t["task_key"] for t in tasks}
        threading.Thread(target=self._execute_run, args=(run_id, keys), daemon=True).start()
        return {"run_id": run_id, "number_in_job": run_id}

    def _execute_run(self, run_id, keys):
        entry = self._runs[run_id]
        run, history = entry["run"], entry["run"]["repair_history"][-1]
        with self._lock:
            run["state"] = history["state"] = {"life_cycle_state": "RUNNING", "state_message": ""}
        pending = [t for t in run["tasks"] if t["task_key"] in keys]
        while pending:  # dependency order: run a task once none of its upstreams is pending
            waiting = {t["task_key"] for t in pending}
            task = next((t for t in pending if not any(
                d.get("task_key") in waiting for d in t["depends_on"])), pending[0])
            pending.remove(task)
            failed_up = [d["task_key"] for d in task["depends_on"] if next(
                (t["state"].get("result_state") for t in run["tasks"]
                 if t["task_key"] == d.get("task_key")), "SUCCESS") != "SUCCESS"]
            start = now_ms()
            if entry["cancel"].is_set():
                state = {"life_cycle_state": "TERMINATED", "result_state": "CANCELED",
                         "state_message": "Run cancelled."}
            elif failed_up:
                state = {"life_cycle_state": "SKIPPED", "result_state": "UPSTREAM_FAILED",
                         "state_message": "Upstream task(s) failed: %s" % ", ".join(failed_up)}
            else:
                with self._lock:
                    task.update(start_time=start, state={"life_cycle_state": "RUNNING",
                                                         "state_message": ""})
                state = self._run_task(task, entry["params"])
            with self._lock:
                task.update(state=state, start_time=start, end_time=now_ms(),
                            execution_duration=now_ms() - start)
        with self._lock:
            bad = [t for t in run["tasks"] if t["state"].get("result_state") != "SUCCESS"]
            if entry["cancel"].is_set():
                final = {"result_state": "CANCELED", "state_message": "Run cancelled."}
            elif not bad:
                final = {"result_state": "SUCCESS", "state_message": ""}
            else:
                final = {"result_state": "FAILED", "state_message": "Task %s failed with message: "
                         "%s" % (bad[0]["task_key"], bad[0]["state"].get("state_message"))}
            run["state"] = dict(final, life_cycle_state="TERMINATED")
            history.update(state=dict(run["state"]), end_time=now_ms())
            run.update(end_time=now_ms(), run_duration=now_ms() - run["start_time"],
                       execution_duration=now_ms() - run["start_time"])

    def _run_task(self, task, params):
        """Run the SQL file of a sql_task: CREATE OR REPLACE TABLE / INSERT INTO statements."""
        path = ((task.get("sql_task") or {}).get("file") or {}).get("path")
        try:
            if not path:
                raise ValueError("only sql_task.file tasks are supported by the local server")
            root = os.path.realpath(self.root)
            full = os.path.realpath(os.path.join(root, path.lstrip("/")))
            if os.path.commonpath([root, full]) != root or "\x00" in path:
                raise ValueError("the sql_task file %s is outside the data root" % path)
            with open(full, encoding="utf-8") as handle:
                script = re.sub(r"--[^\n]*", "", handle.read())
            for sql in filter(None, (s.strip() for s in re.split(r";\s*(?:\n|$)", script))):
                match, mode = next(((p.match(sql), m) for p, m in _SCRIPT if p.match(sql)),
                                   (None, None))
                if not match:
                    raise ValueError("unsupported statement (use CREATE OR REPLACE TABLE ... AS "
                                     "or INSERT INTO ...): %s" % sql[:80])
                select = match.group(2)
                self.lake.run_step(select, match.group(1), mode, used_params(select, params))
        except duckdb.Error as exc:
            return {"life_cycle_state": "TERMINATED", "result_state": "FAILED",
                    "state_message": sql_failure(exc)[0]["message"]}
        except Exception as exc:  # a broken task fails the task, never the server
            return {"life_cycle_state": "TERMINATED", "result_state": "FAILED",
                    "state_message": "%s: %s" % (type(exc).__name__, exc)}
        return {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS", "state_message": ""}

    def _run_get(self, req, query):
        with self._lock:
            return _with_status(self._run(query.get("run_id"))["run"])

    def _run_list(self, req, query):
        with self._lock:
            runs = [_with_status(e["run"]) for e in self._runs.values()
                    if not query.get("job_id") or str(e["run"]["job_id"]) == query["job_id"]]
        if str(query.get("active_only", "")).lower() == "true":
            runs = [r for r in runs if r["status"]["state"] != "TERMINATED"]
        if str(query.get("completed_only", "")).lower() == "true":
            runs = [r for r in runs if r["status"]["state"] == "TERMINATED"]
        return {"runs": sorted(runs, key=lambda r: -r["run_id"]), "has_more": False}

    def _run_repair(self, req, query):
        entry = self._run(req.get("run_id"))
        run = entry["run"]
        with self._lock:
            if run["state"]["life_cycle_state"] != "TERMINATED":
                raise ApiError(400, "Run %s is still in progress and cannot be repaired."
                               % run["run_id"], "INVALID_STATE")
            repairs = [h["id"] for h in run["repair_history"] if h["type"] == "REPAIR"]
            if repairs and req.get("latest_repair_id") != repairs[-1]:
                raise ApiError(400, "The latest repair ID needs to be provided in order to "
                               "create a new repair")
            if req.get("rerun_all_failed_tasks"):
                keys = {t["task_key"] for t in run["tasks"]
                        if t["state"].get("result_state") != "SUCCESS"}
            else:
                keys = set(req.get("rerun_tasks") or [])
            if not keys or keys - {t["task_key"] for t in run["tasks"]}:
                raise ApiError(400, "Nothing to repair: give rerun_tasks or rerun_all_failed_tasks")
            if req.get("job_parameters"):
                entry["params"].update(req["job_parameters"])
            repair_id = self._new_id()
            for task in run["tasks"]:
                if task["task_key"] in keys:
                    task.update(run_id=self._new_id(), attempt_number=task["attempt_number"] + 1,
                                state={"life_cycle_state": "PENDING", "state_message": ""})
            entry["cancel"].clear()
            run["state"] = {"life_cycle_state": "RUNNING", "state_message": ""}
            run["repair_history"].append(
                {"type": "REPAIR", "id": repair_id, "start_time": now_ms(), "end_time": 0,
                 "state": {"life_cycle_state": "PENDING"},
                 "task_run_ids": [t["run_id"] for t in run["tasks"] if t["task_key"] in keys]})
        threading.Thread(target=self._execute_run, args=(run["run_id"], keys), daemon=True).start()
        return {"repair_id": repair_id}

    def _run_cancel(self, req, query):
        self._run(req.get("run_id"))["cancel"].set()
        return {}
