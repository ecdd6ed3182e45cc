"""SQL Warehouses API 2.0 and the clusters listing of the local server.

One warehouse, whose state moves as a workspace's does: start goes STOPPED -> STARTING ->
RUNNING and stop goes RUNNING -> STOPPING -> STOPPED, each move taking a short delay
(``warehouse_start_seconds``, ``warehouse_stop_seconds``) so a client sees the state in
between, as the SDK's ``warehouses.start(id).result()`` waiter expects. A statement sent
to a stopped warehouse starts it and stays PENDING ("waiting for warehouse") until the
warehouse runs, as Databricks does.
"""

import threading
from urllib.parse import urlsplit

import duckdb

from .errors import ApiError

ROUTES = [
    ("GET", r"/api/2\.0/sql/warehouses/?", "_warehouses"),
    ("GET", r"/api/2\.0/sql/warehouses/([^/]+)", "_warehouse"),
    ("POST", r"/api/2\.0/sql/warehouses/([^/]+)/start", "_warehouse_start"),
    ("POST", r"/api/2\.0/sql/warehouses/([^/]+)/stop", "_warehouse_stop"),
    ("GET", r"/api/2\.[01]/clusters/list", "_clusters"),
    ("GET", r"/api/2\.[01]/clusters/get", "_cluster")]
STATES = ("STARTING", "RUNNING", "STOPPING", "STOPPED", "DELETING", "DELETED")


class WarehousesMixin:
    """The warehouse's state machine; the server gives ``warehouse_id``, ``public_url``,
    ``port`` and ``_lock``."""

    def _init_warehouse(self, state="RUNNING", start_seconds=1.0, stop_seconds=0.5,
                        size="2X-Small"):
        if state not in STATES:
            raise ValueError("warehouse state must be one of %s" % ", ".join(STATES))
        self.warehouse_state, self.warehouse_size = state, size
        self.warehouse_start_seconds = float(start_seconds)
        self.warehouse_stop_seconds = float(stop_seconds)
        self._warehouse_moved = threading.Condition(self._lock)
        self._warehouse_turn = 0

    def start_warehouse(self):
        """Start the warehouse unless it runs or starts already (then: nothing)."""
        with self._lock:
            if self.warehouse_state not in ("RUNNING", "STARTING"):
                self._move_warehouse("STARTING", "RUNNING", self.warehouse_start_seconds)

    def stop_warehouse(self):
        """Stop the warehouse unless it is stopped or stopping already."""
        with self._lock:
            if self.warehouse_state not in ("STOPPED", "STOPPING"):
                self._move_warehouse("STOPPING", "STOPPED", self.warehouse_stop_seconds)

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
                self._warehouse_moved.notify_all()

    def _wait_warehouse_running(self, cancel):
        """Hold a statement until the warehouse runs (True) or the statement is canceled
        (False). A warehouse stopped meanwhile is started again: the statement is queued."""
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
            state = self.warehouse_state
        return {"id": self.warehouse_id, "name": "Local Delta warehouse", "state": state,
                "cluster_size": self.warehouse_size, "min_num_clusters": 1,
                "max_num_clusters": 1, "num_clusters": 1 if state == "RUNNING" else 0,
                "warehouse_type": "PRO", "enable_serverless_compute": True,
                "creator_name": "local", "auto_stop_mins": 0,
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
