"""Jobs API 2.1/2.2 of the local server: jobs kept in ``_jobs.json`` (create, reset, update,
delete, list in pages: settings checked as a workspace does), runs of SQL-file tasks
(run-now, one-time submit, dependency order, idempotency tokens, repair, cancel, cancel-all,
delete, output per task run) in threads."""

import json
import logging
import os
import re
import threading
import uuid

import duckdb

from .encoding import now_ms, used_params
from .errors import ApiError, sql_failure

_logger = logging.getLogger(__name__)
_SCRIPT = [(re.compile(r"^CREATE\s+OR\s+REPLACE\s+TABLE\s+(\w+\.\w+\.\w+)\s+AS\s+(.+)$",
                       re.I | re.S), "overwrite"),
           (re.compile(r"^INSERT\s+INTO\s+(\w+\.\w+\.\w+)\s+(.+)$", re.I | re.S), "append")]
ROUTES = [
    ("POST", r"/api/2\.[12]/jobs/create", "_job_create"),
    ("POST", r"/api/2\.[12]/jobs/reset", "_job_reset"),
    ("POST", r"/api/2\.[12]/jobs/update", "_job_update"),
    ("GET", r"/api/2\.[12]/jobs/get", "_job_get"),
    ("GET", r"/api/2\.[12]/jobs/list", "_job_list"),
    ("POST", r"/api/2\.[12]/jobs/delete", "_job_delete"),
    ("POST", r"/api/2\.[12]/jobs/run-now", "_run_now"),
    ("POST", r"/api/2\.[12]/jobs/runs/submit", "_run_submit"),
    ("GET", r"/api/2\.[12]/jobs/runs/get", "_run_get"),
    ("GET", r"/api/2\.[12]/jobs/runs/get-output", "_run_output"),
    ("GET", r"/api/2\.[12]/jobs/runs/list", "_run_list"),
    ("POST", r"/api/2\.[12]/jobs/runs/repair", "_run_repair"),
    ("POST", r"/api/2\.[12]/jobs/runs/cancel", "_run_cancel"),
    ("POST", r"/api/2\.[12]/jobs/runs/cancel-all", "_run_cancel_all"),
    ("POST", r"/api/2\.[12]/jobs/runs/delete", "_run_delete")]


DONE = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")  # a run in one of these has ended
_KEY = re.compile(r"^[\w\-]{1,100}$")  # the documented task_key pattern and length


def check_settings(settings):
    """Job settings as a workspace accepts them, else ApiError 400: at least one task, each
    an object with a unique ``task_key``; ``depends_on`` a list of ``{task_key}`` naming
    other tasks of the job, without a cycle; a ``sql_task`` with a ``file.path`` string (the
    only task the local server runs); job ``parameters`` a list of ``{name, default}`` with
    unique names."""
    if not isinstance(settings, dict):
        raise ApiError(400, "The job settings must be an object")
    if settings.get("name") is not None and not isinstance(settings["name"], str):
        raise ApiError(400, "name must be a string")
    tasks = settings.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise ApiError(400, "tasks must be a list of at least one task")
    keys = []
    for pos, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise ApiError(400, "tasks[%d] must be an object with a task_key" % pos)
        key = task.get("task_key")
        if not isinstance(key, str) or not _KEY.match(key):
            raise ApiError(400, "tasks[%d].task_key is required: 1 to 100 letters, digits, _ "
                           "or -" % pos)
        if key in keys:
            raise ApiError(400, "Task key %s is used by more than one task: task keys must be "
                           "unique in a job" % key)
        keys.append(key)
    graph = {}
    for task in tasks:
        key, upstream = task["task_key"], task.get("depends_on") or []
        if not isinstance(upstream, list) or not all(
                isinstance(d, dict) and isinstance(d.get("task_key"), str) for d in upstream):
            raise ApiError(400, "Task %s: depends_on must be a list of {\"task_key\": ...} "
                           "objects" % key)
        graph[key] = [d["task_key"] for d in upstream]
        unknown = [k for k in graph[key] if k not in keys]
        if unknown:
            raise ApiError(400, "Task %s depends on %s, which is not a task of this job"
                           % (key, unknown[0]))
        sql_task = task.get("sql_task")
        if sql_task is not None and not (isinstance(sql_task, dict) and isinstance(
                sql_task.get("file") or {}, dict) and isinstance(
                (sql_task.get("file") or {}).get("path") or "", str)):
            raise ApiError(400, "Task %s: sql_task must be an object, its file.path a string"
                           % key)
        other = sorted(k for k in task if k.endswith("_task") and k != "sql_task")
        if other or not (sql_task or {}).get("file"):
            raise ApiError(400, "Task %s: %s is not supported by the local server, which runs "
                           "SQL file tasks only (sql_task.file.path)"
                           % (key, other[0] if other else "a sql_task without file"))
    cycle = _cycle(graph)
    if cycle:
        raise ApiError(400, "The job's tasks have a dependency cycle: %s" % " -> ".join(cycle))
    params = settings.get("parameters")
    if params is not None:
        if not isinstance(params, list) or not all(
                isinstance(p, dict) and isinstance(p.get("name"), str) and p["name"]
                and isinstance(p.get("default", ""), str) for p in params):
            raise ApiError(400, "parameters must be a list of {\"name\": ..., \"default\": ...} "
                           "objects with string values")
        names = [p["name"] for p in params]
        if len(set(names)) != len(names):
            raise ApiError(400, "parameters: each job parameter name must be unique")
    return settings


def _cycle(graph):
    """A dependency cycle of ``graph`` (task -> upstream tasks) as a list of keys, or None."""
    marks, path = {}, []

    def visit(key):
        marks[key] = "open"
        path.append(key)
        for up in graph[key]:
            if marks.get(up) == "open":
                return path[path.index(up):] + [up]
            if up not in marks:
                found = visit(up)
                if found:
                    return found
        marks[key] = "done"
        path.pop()
        return None

    for key in graph:
        if key not in marks:
            found = visit(key)
            if found:
                return found
    return None


def check_job_parameters(values):
    """``job_parameters`` of run-now and repair: a map of names to string values."""
    if values is None:
        return {}
    if not isinstance(values, dict) or not all(
            isinstance(v, str) for v in values.values()):
        raise ApiError(400, "job_parameters must be an object of parameter names to string "
                       "values")
    return values


def _flag(query, key):
    return str(query.get(key, "")).lower() == "true"


def _page(query, default, most, zero=None):
    """(offset, limit) of a listing: ``limit`` 1 to ``most`` (``zero`` for 0, when the API
    gives 0 a meaning), from ``page_token`` (an offset this server issued) or ``offset``."""
    try:
        limit = int(query.get("limit", default))
        offset = int(query.get("page_token") or query.get("offset") or 0)
    except ValueError as exc:
        raise ApiError(400, "Invalid limit, offset or page_token") from exc
    if limit == 0 and zero:
        limit = zero
    if not 0 < limit <= most or offset < 0:
        raise ApiError(400, "limit must be between 1 and %d, offset and page_token at least 0"
                       % most)
    return offset, limit


def _paged(key, items, offset, limit):
    answer = {key: items[offset:offset + limit], "has_more": offset + limit < len(items)}
    if answer["has_more"]:
        answer["next_page_token"] = str(offset + limit)
    if offset:
        answer["prev_page_token"] = str(max(0, offset - limit))
    return answer


def _with_status(run):
    """A copy of ``run`` with the ``status`` objects the Jobs API now documents beside the
    deprecated ``state`` (on the run and each task)."""
    run = json.loads(json.dumps(run))
    for item in [run, *run.get("tasks", [])]:
        item["status"] = _status(item.get("state") or {})
    return run


_CODES = {"SUCCESS": ("SUCCESS", "SUCCESS"), "FAILED": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
          "CANCELED": ("USER_CANCELED", "SUCCESS"),  # the only cancel here is a user's
          "UPSTREAM_FAILED": ("SKIPPED", "CLIENT_ERROR"),
          "TIMEDOUT": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
          "INTERNAL_ERROR": ("INTERNAL_ERROR", "INTERNAL_ERROR")}


def _status(state):
    life = state.get("life_cycle_state") or "PENDING"
    if life in DONE:
        code, kind = ("INTERNAL_ERROR", "INTERNAL_ERROR") if life == "INTERNAL_ERROR" else \
            _CODES.get(state.get("result_state") or "", ("INTERNAL_ERROR", "INTERNAL_ERROR"))
        return {"state": "TERMINATED", "termination_details": {
            "code": code, "type": kind, "message": state.get("state_message") or ""}}
    return {"state": {"TERMINATING": "TERMINATING", "RUNNING": "RUNNING",
                      "QUEUED": "QUEUED", "BLOCKED": "BLOCKED"}.get(life, "PENDING")}


def _idempotency_token(req):
    token = req.get("idempotency_token")
    if token is not None and (not isinstance(token, str) or len(token) > 64):
        raise ApiError(400, "idempotency_token must be a string of at most 64 characters",
                       "INVALID_PARAMETER_VALUE")
    return token


class JobsMixin:
    """Jobs and runs; the server gives ``root``, ``lake``, ``url``, ``_lock``,
    ``_new_id``, ``_jobs``, ``_jobs_file``, ``_runs``, ``_tokens``, ``_deleted_tokens``,
    ``task_delay`` and ``_purge``."""

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
            # as a workspace answers (the SDK reads it as ResourceDoesNotExist on jobs/get)
            raise ApiError(400, "Job %s does not exist." % job_id) from exc

    def _job_create(self, req, query):
        check_settings(req)
        job_id = self._new_id()
        with self._lock:
            self._jobs[job_id] = {"job_id": job_id, "creator_user_name": "local",
                                  "created_time": now_ms(), "settings": req}
            self._save_jobs()
        return {"job_id": job_id}

    def _job_reset(self, req, query):
        """All the settings are replaced by ``new_settings``."""
        job = self._job(req.get("job_id"))
        settings = check_settings(req.get("new_settings"))
        with self._lock:
            job["settings"] = settings
            self._save_jobs()
        return {}

    def _job_update(self, req, query):
        """The top-level fields of ``new_settings`` replace the job's, ``fields_to_remove``
        are dropped; the result must still be valid settings."""
        job = self._job(req.get("job_id"))
        new, remove = req.get("new_settings") or {}, req.get("fields_to_remove") or []
        if not isinstance(new, dict):
            raise ApiError(400, "new_settings must be an object")
        if not isinstance(remove, list) or not all(isinstance(f, str) for f in remove):
            raise ApiError(400, "fields_to_remove must be a list of field names")
        with self._lock:
            settings = {k: v for k, v in job["settings"].items() if k not in remove}
            job["settings"] = check_settings(dict(settings, **new))
            self._save_jobs()
        return {}

    def _job_get(self, req, query):
        return self._job(query.get("job_id"))

    def _job_list(self, req, query):
        """Jobs in pages of ``limit`` (default 20, at most 100); ``name`` is an exact,
        case-insensitive filter."""
        offset, limit = _page(query, 20, 100)
        expand, name = _flag(query, "expand_tasks"), (query.get("name") or "").lower()
        with self._lock:
            jobs = [dict(j, settings={k: v for k, v in j["settings"].items()
                                      if expand or k != "tasks"})
                    for j in self._jobs.values()
                    if not name or (j["settings"].get("name") or "").lower() == name]
        return _paged("jobs", jobs, offset, limit)

    def _job_delete(self, req, query):
        job = self._job(req.get("job_id"))
        with self._lock:
            self._jobs.pop(job["job_id"], None)
            self._save_jobs()
        return {}

    def _run(self, run_id):
        try:
            return self._runs[int(run_id)]
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(400, "Run %s does not exist." % run_id) from exc

    def _run_now(self, req, query):
        job = self._job(req.get("job_id"))
        token = _idempotency_token(req)
        given = check_job_parameters(req.get("job_parameters"))
        return self._start_run(job["job_id"], job["settings"], given, token, "JOB_RUN")

    def _run_submit(self, req, query):
        """A one-time run of the tasks given (runs/submit): no saved job; its run has a job
        id of its own, as on a workspace, that jobs/get does not know."""
        token = _idempotency_token(req)
        settings = check_settings({"name": req.get("run_name"), "tasks": req.get("tasks")})
        return {"run_id": self._start_run(None, settings, {}, token, "SUBMIT_RUN")["run_id"]}

    def _start_run(self, job_id, settings, given, token, run_type):
        with self._lock:  # everything is checked: the token is stored with its run, not before
            self._purge()
            if token and token in self._tokens:  # a retried request never starts a second run
                return {"run_id": self._tokens[token], "number_in_job": self._tokens[token]}
            if token and token in self._deleted_tokens:
                raise ApiError(400, "The run started with idempotency token %s (run %s) was "
                               "deleted: use a new token" % (token, self._deleted_tokens[token]),
                               "INVALID_PARAMETER_VALUE")
            params = {p["name"]: p.get("default") for p in settings.get("parameters") or []}
            params.update(given)
            job_id = job_id or self._new_id()
            run_id = self._new_id()
            tasks = [{"task_key": t["task_key"], "run_id": self._new_id(), "attempt_number": 0,
                      "depends_on": t.get("depends_on") or [], "sql_task": t.get("sql_task"),
                      "state": {"life_cycle_state": "PENDING", "state_message": ""}}
                     for t in settings["tasks"]]
            run = {"job_id": job_id, "run_id": run_id, "number_in_job": run_id,
                   "run_name": settings.get("name") or "Untitled",
                   "creator_user_name": "local", "trigger": "ONE_TIME", "run_type": run_type,
                   "run_page_url": "%s/#job/%s/run/%s" % (self.url, job_id, run_id),
                   "state": {"life_cycle_state": "PENDING", "state_message": ""},
                   "start_time": now_ms(), "end_time": 0, "setup_duration": 0,
                   "execution_duration": 0, "cleanup_duration": 0, "run_duration": 0,
                   "job_parameters": [{"name": k, "value": v} for k, v in params.items()],
                   "tasks": tasks, "repair_history": [
                       {"type": "ORIGINAL", "start_time": now_ms(), "end_time": 0,
                        "state": {"life_cycle_state": "PENDING"},
                        "task_run_ids": [t["run_id"] for t in tasks]}]}
            self._runs[run_id] = {"run": run, "params": params, "cancel": threading.Event(),
                                  "outputs": {}}  # task run id -> what get-output tells
            if token:
                self._tokens[token] = run_id
        keys = {t["task_key"] for t in tasks}
        threading.Thread(target=self._execute_run, args=(run_id, keys), daemon=True).start()
        return {"run_id": run_id, "number_in_job": run_id}

    def _execute_run(self, run_id, keys):
        """The run thread: whatever goes wrong ends the run, it never stays RUNNING."""
        try:
            self._execute_tasks(run_id, keys)
        except Exception:  # a server bug: the log has the details, the run ends INTERNAL_ERROR
            ref = uuid.uuid4().hex[:12]
            _logger.exception("job run %s failed on an internal error (error id %s)", run_id, ref)
            message = "The run failed on an internal error of the server (error id %s)." % ref
            with self._lock:
                entry = self._runs.get(run_id)
                if entry is None:
                    return
                run, ended = entry["run"], now_ms()
                for task in run["tasks"]:
                    if task["task_key"] in keys and task["state"].get("life_cycle_state") \
                            not in DONE:
                        task.update(end_time=ended, state={
                            "life_cycle_state": "INTERNAL_ERROR", "result_state": "FAILED",
                            "state_message": message})
                run["state"] = {"life_cycle_state": "INTERNAL_ERROR", "result_state": "FAILED",
                                "state_message": message}
                run["repair_history"][-1].update(state=dict(run["state"]), end_time=ended)
                run.update(end_time=ended, run_duration=ended - run["start_time"],
                           execution_duration=ended - run["start_time"])

    def _execute_tasks(self, run_id, keys):
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
                state = self._run_task(task, entry["params"], entry["cancel"],
                                       entry["outputs"].setdefault(task["run_id"], {}))
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

    def _run_task(self, task, params, cancel, output):
        """Run the SQL file of a sql_task: CREATE OR REPLACE TABLE / INSERT INTO statements.
        The file's text goes to ``output`` (runs/get-output answers it)."""
        path = ((task.get("sql_task") or {}).get("file") or {}).get("path")
        if self.task_delay and cancel.wait(self.task_delay):  # tests: a slow task, canceled
            return {"life_cycle_state": "TERMINATED", "result_state": "CANCELED",
                    "state_message": "Run cancelled."}
        try:
            if not path:
                raise ValueError("only sql_task.file tasks are supported by the local server")
            root = os.path.realpath(self.root)
            full = os.path.realpath(os.path.join(root, path.lstrip("/")))
            if os.path.commonpath([root, full]) != root or "\x00" in path:
                raise ValueError("the sql_task file %s is outside the data root" % path)
            with open(full, encoding="utf-8") as handle:
                output["query_text"] = handle.read()
            script = re.sub(r"--[^\n]*", "", output["query_text"])
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
        except ValueError as exc:  # ours: a task the local server refuses, said in its terms
            return {"life_cycle_state": "TERMINATED", "result_state": "FAILED",
                    "state_message": str(exc)}
        except OSError as exc:
            return {"life_cycle_state": "TERMINATED", "result_state": "FAILED",
                    "state_message": "Cannot read the sql_task file %s: %s"
                    % (path, exc.strerror or exc)}
        except Exception:  # a broken task fails the task, never the server
            ref = uuid.uuid4().hex[:12]
            _logger.exception("task %s failed on an internal error (error id %s)",
                              task["task_key"], ref)
            return {"life_cycle_state": "TERMINATED", "result_state": "FAILED",
                    "state_message": "The task failed on an internal error of the server "
                    "(error id %s)." % ref}
        return {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS", "state_message": ""}

    def _run_get(self, req, query):
        with self._lock:
            return _with_status(self._run(query.get("run_id"))["run"])

    def _run_output(self, req, query):
        """The output of one task run; a job run's tasks each have theirs, as on a
        workspace (the job run's id is refused)."""
        run_id = query.get("run_id")
        with self._lock:
            if str(run_id).isdigit() and int(run_id) in self._runs:
                raise ApiError(400, "Retrieving the output of runs with multiple tasks is not "
                               "supported. Please retrieve the output of each individual task "
                               "run instead.")
            found = next(((e, t) for e in self._runs.values() for t in e["run"]["tasks"]
                          if str(t["run_id"]) == str(run_id)), None)
            if found is None:
                raise ApiError(400, "Run %s does not exist." % run_id)
            entry, task = found
            run, output = entry["run"], dict(entry["outputs"].get(task["run_id"]) or {})
            meta = _with_status(dict(
                task, job_id=run["job_id"], job_run_id=run["run_id"], run_name=task["task_key"],
                number_in_job=run["number_in_job"], creator_user_name=run["creator_user_name"],
                run_type=run["run_type"], trigger=run["trigger"], run_page_url="%s/#job/%s/run/%s"
                % (self.url, run["job_id"], task["run_id"])))
        answer = {"metadata": meta}
        state = task["state"]
        if state.get("life_cycle_state") in DONE and state.get("result_state") != "SUCCESS":
            answer["error"] = state.get("state_message") or state.get("result_state")
        if "query_text" in output:
            answer["sql_output"] = {"file_output": {
                "query_text": output["query_text"],
                "warehouse_id": (task.get("sql_task") or {}).get("warehouse_id")}}
        return answer

    def _run_list(self, req, query):
        """Runs, the latest first, in pages of ``limit`` (default 20, at most 25; 0 is 25);
        the tasks only with ``expand_tasks``."""
        offset, limit = _page(query, 20, 25, zero=25)
        active, completed = _flag(query, "active_only"), _flag(query, "completed_only")
        if active and completed:
            raise ApiError(400, "active_only and completed_only cannot both be true")
        try:
            since, until = (int(query.get(k) or d) for k, d in (
                ("start_time_from", 0), ("start_time_to", 2**63)))
        except ValueError as exc:
            raise ApiError(400, "start_time_from and start_time_to are times in ms") from exc
        with self._lock:
            runs = [_with_status(e["run"]) for e in self._runs.values()
                    if (not query.get("job_id") or str(e["run"]["job_id"]) == query["job_id"])
                    and query.get("run_type", e["run"]["run_type"]) == e["run"]["run_type"]
                    and since <= e["run"]["start_time"] <= until]
        if active:
            runs = [r for r in runs if r["status"]["state"] != "TERMINATED"]
        if completed:
            runs = [r for r in runs if r["status"]["state"] == "TERMINATED"]
        if not _flag(query, "expand_tasks"):
            for run in runs:
                run.pop("tasks", None)
        runs.sort(key=lambda r: (-r["start_time"], -r["run_id"]))
        return _paged("runs", runs, offset, limit)

    def _run_repair(self, req, query):
        entry = self._run(req.get("run_id"))
        run = entry["run"]
        with self._lock:
            if run["state"]["life_cycle_state"] not in DONE:
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
                rerun = req.get("rerun_tasks") or []
                if not isinstance(rerun, list) or not all(isinstance(k, str) for k in rerun):
                    raise ApiError(400, "rerun_tasks must be a list of task keys")
                keys = set(rerun)
            unknown = sorted(keys - {t["task_key"] for t in run["tasks"]})
            if unknown:
                raise ApiError(400, "rerun_tasks: %s is not a task of run %s"
                               % (unknown[0], run["run_id"]))
            if not keys:
                raise ApiError(400, "Nothing to repair: give rerun_tasks or rerun_all_failed_tasks")
            entry["params"].update(check_job_parameters(req.get("job_parameters")))
            repair_id = self._new_id()
            for task in run["tasks"]:
                if task["task_key"] in keys:
                    entry["outputs"].pop(task["run_id"], None)  # that task run is gone
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

    def _run_cancel_all(self, req, query):
        """The active runs of ``job_id`` end CANCELED; ``all_queued_runs`` alone cancels the
        queued runs of the workspace (a local run never queues: none)."""
        job_id, queued = req.get("job_id"), req.get("all_queued_runs") is True
        if job_id is None and not queued:
            raise ApiError(400, "Either job_id or all_queued_runs must be given")
        job_id = None if job_id is None else self._job(job_id)["job_id"]
        with self._lock:
            for entry in self._runs.values():
                life = entry["run"]["state"]["life_cycle_state"]
                if (job_id is None and life == "QUEUED") or \
                        (entry["run"]["job_id"] == job_id and life not in DONE):
                    entry["cancel"].set()
        return {}

    def _run_delete(self, req, query):
        """A run that ended is forgotten (its idempotency token then answers an error, as
        the Jobs API says); an active one is refused."""
        entry = self._run(req.get("run_id"))
        with self._lock:
            run = entry["run"]
            if run["state"]["life_cycle_state"] not in DONE:
                raise ApiError(400, "Run %s is active: cancel it before deleting it."
                               % run["run_id"], "INVALID_STATE")
            self._runs.pop(run["run_id"], None)
            self._purge()  # moves its token to the deleted ones
        return {}
