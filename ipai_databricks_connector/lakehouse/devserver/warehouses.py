"""SQL Warehouses API 2.0 and the clusters listing of the local server.

One warehouse, whose state moves as a workspace's does: start goes STOPPED -> STARTING ->
RUNNING and stop goes RUNNING -> STOPPING -> STOPPED, each move taking a short delay
(``warehouse_start_seconds``, ``warehouse_stop_seconds``) so a client sees the state in
between, as the SDK's ``warehouses.start(id).result()`` waiter expects. A statement sent
to a stopped warehouse starts it and stays PENDING ("waiting for warehouse") until the
warehouse runs, as Databricks does.

Auto-stop: after ``auto_stop_mins`` (Databricks' default 120; 0 = never) with no statement
submitted, pending or running (nor a job run), the warehouse stops by itself. Tests and
demos shorten that with ``auto_stop_seconds``, which replaces the minutes' length while
``auto_stop_mins`` is not 0. A stop, by the API or by auto-stop, ends the statements still
PENDING or RUNNING on the warehouse as CANCELED; a SUCCEEDED result stays readable.
"""

import threading
import time
from urllib.parse import urlsplit

import duckdb

from .errors import ApiError

ROUTES = [
    ("GET", r"/api/2\.0/sql/warehouses/?", "_warehouses"),
    ("GET", r"/api/2\.0/sql/warehouses/([^/]+)", "_warehouse"),
    ("POST", r"/api/2\.0/sql/warehouses/([^/]+)/start", "_warehouse_start"),
    ("POST", r"/api/2\.0/sql/warehouses/([^/]+)/stop", "_warehouse_stop"),
    ("POST", r"/api/2\.0/sql/warehouses/([^/]+)/edit", "_warehouse_edit"),
    ("GET", r"/api/2\.[01]/clusters/list", "_clusters"),
    ("GET", r"/api/2\.[01]/clusters/get", "_cluster")]
STATES = ("STARTING", "RUNNING", "STOPPING", "STOPPED", "DELETING", "DELETED")
SIZES = ("2X-Small", "X-Small", "Small", "Medium", "Large", "X-Large", "2X-Large",
         "3X-Large", "4X-Large", "5X-Large")  # as the SQL Warehouses API documents them


class WarehousesMixin:
    """The warehouse's state machine; the server gives ``warehouse_id``, ``public_url``,
    ``port`` and ``_lock``."""

    def _init_warehouse(self, state="RUNNING", start_seconds=1.0, stop_seconds=0.5,
                        size="2X-Small", auto_stop_mins=120, auto_stop_seconds=None):
        if state not in STATES:
            raise ValueError("warehouse state must be one of %s" % ", ".join(STATES))
        self.warehouse_state, self.warehouse_size = state, size
        self.warehouse_name = "Local Delta warehouse"
        self.warehouse_start_seconds = float(start_seconds)
        self.warehouse_stop_seconds = float(stop_seconds)
        if isinstance(auto_stop_mins, bool) or not isinstance(auto_stop_mins, int) or \
                0 < auto_stop_mins < 10 or auto_stop_mins < 0:
            raise ValueError("auto_stop_mins must be 0 (never) or at least 10")
        self.auto_stop_mins = auto_stop_mins
        self.auto_stop_seconds = None if auto_stop_seconds is None else float(auto_stop_seconds)
        self._warehouse_moved = threading.Condition(self._lock)
        self._warehouse_turn = 0
        self._warehouse_idle_since = time.monotonic()
        self._auto_stop_closing = threading.Event()

    def _idle_limit(self):
        """Seconds of idleness after which the warehouse stops; None: never."""
        if not self.auto_stop_mins:
            return None
        if self.auto_stop_seconds is not None:
            return max(0.0, self.auto_stop_seconds)
        return self.auto_stop_mins * 60.0

    def _touch_warehouse(self):
        """Activity: the idle clock starts again from now."""
        with self._lock:
            self._warehouse_idle_since = time.monotonic()

    def _warehouse_busy(self):
        """A statement is pending or running, or a job run is active. Lock held."""
        return any(st.state in ("PENDING", "RUNNING") for st in self._statements.values()) \
            or any((r["run"].get("state") or {}).get("life_cycle_state") in
                   ("PENDING", "QUEUED", "RUNNING") for r in self._runs.values())

    def _auto_stop_tick(self):
        """Stop the warehouse if it ran idle for its auto-stop time (True when it did)."""
        limit = self._idle_limit()
        with self._lock:
            if self._warehouse_busy():
                self._warehouse_idle_since = time.monotonic()
                return False
            if limit is None or self.warehouse_state != "RUNNING" or \
                    time.monotonic() - self._warehouse_idle_since < limit:
                return False
            self.stop_warehouse()
            return True

    def _auto_stop_loop(self):
        while True:
            limit = self._idle_limit()
            # checks ten times per idle period (0.05 s to 1 s apart): a stop is that precise
            if self._auto_stop_closing.wait(min(1.0, max(0.05, (limit or 10.0) / 10))):
                return
            self._auto_stop_tick()

    def _start_auto_stop(self):
        self._auto_stop_closing.clear()
        thread = threading.Thread(target=self._auto_stop_loop, daemon=True,
                                  name="warehouse-auto-stop")
        thread.start()
        return thread

    def start_warehouse(self):
        """Start the warehouse unless it runs or starts already (then: nothing)."""
        with self._lock:
            if self.warehouse_state not in ("RUNNING", "STARTING"):
                self._move_warehouse("STARTING", "RUNNING", self.warehouse_start_seconds)

    def stop_warehouse(self):
        """Stop the warehouse unless it is stopped or stopping already. The statements still
        pending or running on it end CANCELED."""
        with self._lock:
            if self.warehouse_state not in ("STOPPED", "STOPPING"):
                self._move_warehouse("STOPPING", "STOPPED", self.warehouse_stop_seconds)
                self._end_statements(
                    "The statement was canceled because SQL warehouse %s was stopped."
                    % self.warehouse_id)

    def _move_warehouse(self, now, then, delay):
        """Enter ``now`` at once (the answer to the call shows it), ``then`` after ``delay``.
        Called with the lock held."""
        self._warehouse_turn += 1
        self.warehouse_state = now
        self._warehouse_moved.notify_all()
        timer = threading.Timer(max(0.0, delay), self._warehouse_arrives,
                                (self._warehouse_turn, then))
        timer.daemon = True
        timer.start()

    def _warehouse_arrives(self, turn, state):
        with self._lock:
            if turn == self._warehouse_turn:  # a later start or stop overrides this move
                self.warehouse_state = state
                self._warehouse_idle_since = time.monotonic()  # idle from when it runs
                self._warehouse_moved.notify_all()

    def _wait_warehouse_running(self, cancel):
        """Hold a statement until the warehouse runs (True) or the statement is canceled
        (False, as a stop of the warehouse does). A warehouse found stopped is started."""
        with self._lock:
            while self.warehouse_state != "RUNNING":
                if cancel.is_set():
                    return False
                if self.warehouse_state in ("STOPPED", "STOPPING"):
                    self.start_warehouse()
                self._warehouse_moved.wait(0.1)  # also wakes up to see a cancel
        return True

    # --- endpoints ----------------------------------------------------------------------
    def _warehouse_json(self):
        public = urlsplit(self.public_url)
        host, port = public.hostname, public.port or self.port
        with self._lock:
            state, name, size = self.warehouse_state, self.warehouse_name, self.warehouse_size
            auto_stop = self.auto_stop_mins
        return {"id": self.warehouse_id, "name": name, "state": state,
                "cluster_size": size, "min_num_clusters": 1,
                "max_num_clusters": 1, "num_clusters": 1 if state == "RUNNING" else 0,
                "warehouse_type": "PRO", "enable_serverless_compute": True,
                "creator_name": "local", "auto_stop_mins": auto_stop,
                "health": {"status": "HEALTHY"} if state == "RUNNING" else {},
                "odbc_params": {"hostname": host, "port": port, "protocol": public.scheme,
                                "path": "/sql/1.0/warehouses/%s" % self.warehouse_id}}

    def _warehouses(self, req, query):
        return {"warehouses": [self._warehouse_json()]}

    def _warehouse(self, req, query, wid):
        if wid != self.warehouse_id:
            raise ApiError(404, "Warehouse %s does not exist." % wid)
        return self._warehouse_json()

    def _warehouse_start(self, req, query, wid):
        self._warehouse(req, query, wid)
        self.start_warehouse()
        return {}

    def _warehouse_stop(self, req, query, wid):
        self._warehouse(req, query, wid)
        self.stop_warehouse()
        return {}

    def _warehouse_edit(self, req, query, wid):
        """Edit: the fields given change, the others are kept. The state does not change
        (the SDK's ``edit(...).result()`` waits for RUNNING: call it on a running one)."""
        self._warehouse(req, query, wid)
        changes = {}
        if req.get("auto_stop_mins") is not None:
            changes["auto_stop_mins"] = _auto_stop_mins(req["auto_stop_mins"])
        if req.get("cluster_size") is not None:
            if req["cluster_size"] not in SIZES:
                raise ApiError(400, "Invalid cluster_size %r: must be one of %s."
                               % (req["cluster_size"], ", ".join(SIZES)),
                               "INVALID_PARAMETER_VALUE")
            changes["warehouse_size"] = req["cluster_size"]
        if req.get("name") is not None:
            if not isinstance(req["name"], str) or not 0 < len(req["name"]) < 100:
                raise ApiError(400, "name must be 1 to 99 characters.",
                               "INVALID_PARAMETER_VALUE")
            changes["warehouse_name"] = req["name"]
        with self._lock:
            for key, value in changes.items():
                setattr(self, key, value)
            self._warehouse_idle_since = time.monotonic()  # a new setting, a new idle period
        return {}

    @staticmethod
    def _cluster_json():
        return {"cluster_id": "local-cluster", "cluster_name": "Local DuckDB",
                "state": "RUNNING", "spark_version": "duckdb-%s" % duckdb.__version__,
                "node_type_id": "local", "num_workers": 0,
                "cluster_source": "API", "creator_user_name": "local"}

    def _clusters(self, req, query):
        return {"clusters": [self._cluster_json()]}

    def _cluster(self, req, query):
        if query.get("cluster_id") != "local-cluster":
            raise ApiError(400, "Cluster %s does not exist" % query.get("cluster_id"),
                           "INVALID_PARAMETER_VALUE")
        return self._cluster_json()


def _auto_stop_mins(value):
    """The documented rule: 0 (never) or at least 10 minutes."""
    if isinstance(value, bool) or not isinstance(value, int) or (value != 0 and value < 10):
        raise ApiError(400, "Invalid auto_stop_mins %r: it must be 0 (no auto-stop) or at "
                       "least 10 minutes." % (value,), "INVALID_PARAMETER_VALUE")
    return value
