"""Plain tests of the resilience engine (no database)."""

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from odoo.addons.ipai_microservices_gateway.resilience import breaker as bk
from odoo.addons.ipai_microservices_gateway.resilience import client, ratelimit
from odoo.addons.ipai_microservices_gateway.resilience import vault as vault_lib
from odoo.addons.ipai_microservices_gateway.resilience.policy import (
    RetryPolicy,
    may_retry,
    parse_retry_after,
)
from odoo.addons.ipai_microservices_gateway.resilience.redact import (
    redact_headers,
    redact_text,
    redact_url,
)
from odoo.tests import BaseCase

from .fault_server import FaultServer

POLICY = bk.BreakerPolicy(failure_threshold=3, failure_rate_threshold=50, minimum_calls=4,
                          window_seconds=60, open_seconds=10, slow_call_ms=100,
                          slow_call_rate_threshold=50, trial_timeout=20)


def _fail(state, now, policy=POLICY, ms=10):
    return bk.on_result(state, policy, success=False, duration_ms=ms, now=now, error="boom")


class TestFaultServer(BaseCase):
    def test_stop_ends_the_threads_of_kept_alive_connections(self):
        # Left waiting on a client's pooled connection, each thread would outlive the
        # server, and a test run would pile them up under Odoo's limit_memory_hard.
        before = set(threading.enumerate())

        def handlers():
            return [t for t in set(threading.enumerate()) - before
                    if t.is_alive() and "process_request_thread" in t.name]

        server = FaultServer().start()
        self.addCleanup(server.stop)
        sessions = [requests.Session() for _ in range(3)]
        for session in sessions:
            self.addCleanup(session.close)
            self.assertEqual(session.get(server.url, timeout=10).status_code, 200)
        self.assertEqual(len(handlers()), 3, "each kept-alive connection holds a thread")
        server.stop()
        deadline = time.monotonic() + 5
        while handlers() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(handlers(), [])


class TestResilienceEngine(BaseCase):
    """Retry policy, breaker, redaction and vault, without Odoo."""

    def test_full_jitter_stays_under_the_exponential_ceiling(self):
        policy = RetryPolicy(backoff_initial=0.5, backoff_max=4.0)
        self.assertAlmostEqual(policy.backoff(1, rng=lambda: 0.999), 0.4995)
        assert policy.backoff(3, rng=lambda: 1.0) == 2.0
        assert policy.backoff(10, rng=lambda: 1.0) == 4.0  # capped
        assert policy.backoff(2, rng=lambda: 0.0) == 0.0  # full jitter reaches zero

    def test_only_idempotent_methods_or_keyed_calls_are_retried(self):
        assert may_retry("get") and may_retry("PUT") and may_retry("DELETE")
        assert not may_retry("POST") and not may_retry("PATCH")
        assert may_retry("POST", idempotency_key="k-1")

    def test_retry_after_seconds_and_http_date(self):
        assert parse_retry_after("7") == 7.0
        now = 1_700_000_000
        self.assertAlmostEqual(
            parse_retry_after("Tue, 14 Nov 2023 22:13:30 GMT", now=now), 10.0)
        assert parse_retry_after("soon") is None
        assert parse_retry_after(None) is None

    def test_invalid_policies_are_refused(self):
        with self.assertRaises(ValueError):
            RetryPolicy(max_attempts=0)
        with self.assertRaises(ValueError):
            bk.BreakerPolicy(open_seconds=0)

    def test_breaker_trips_on_consecutive_failures_and_then_refuses(self):
        state = bk.reset(0)
        for i in range(2):
            state = _fail(state, i)
            assert state.state == bk.CLOSED
        state = _fail(state, 2)
        assert state.state == bk.OPEN and state.open_until == 12
        admission = bk.admit(state, POLICY, 5)
        assert not admission.allowed and admission.retry_in == 7
        assert bk.admit(state, POLICY, 12).needs_trial

    def test_a_success_resets_the_consecutive_count(self):
        policy = bk.BreakerPolicy(failure_threshold=3, failure_rate_threshold=0)
        state = _fail(_fail(bk.reset(0), 0, policy), 1, policy)
        state = bk.on_result(state, policy, success=True, duration_ms=1, now=2)
        state = _fail(_fail(state, 3, policy), 4, policy)
        assert state.state == bk.CLOSED and state.consecutive_failures == 2

    def test_failure_rate_needs_the_minimum_number_of_calls(self):
        policy = bk.BreakerPolicy(failure_threshold=99, failure_rate_threshold=50, minimum_calls=4,
                                  window_seconds=60, open_seconds=10)
        state = bk.reset(0)
        state = bk.on_result(state, policy, success=True, duration_ms=1, now=1)
        state = _fail(state, 2, policy)
        state = bk.on_result(state, policy, success=True, duration_ms=1, now=3)
        assert state.state == bk.CLOSED  # 1 of 3: under the minimum
        state = _fail(state, 4, policy)
        assert state.state == bk.OPEN  # 2 of 4 = 50 %

    def test_buffered_successes_count_in_the_rate(self):
        policy = bk.BreakerPolicy(failure_threshold=99, failure_rate_threshold=50, minimum_calls=4,
                                  window_seconds=60, open_seconds=10)
        state = bk.add_successes(bk.reset(0), policy, 10, now=1)
        state = _fail(state, 2, policy)
        assert state.state == bk.CLOSED and state.window_calls == 11

    def test_slow_call_rate_trips_even_when_calls_succeed(self):
        state = bk.reset(0)
        for i in range(4):
            state = bk.on_result(state, POLICY, success=True, duration_ms=500, now=i)
        assert state.state == bk.OPEN

    def test_the_window_rolls_over(self):
        state = _fail(_fail(bk.reset(0), 0), 1)
        state = bk.on_result(state, POLICY, success=True, duration_ms=1, now=2)
        state = bk.on_result(state, POLICY, success=True, duration_ms=1, now=100)
        assert state.window_calls == 1 and state.window_failures == 0

    def test_half_open_trial_closes_or_reopens(self):
        opened = _fail(_fail(_fail(bk.reset(0), 0), 1), 2)
        trial = bk.BreakerState(**{**opened.__dict__, "state": bk.HALF_OPEN, "trial_started": 13})
        assert not bk.admit(trial, POLICY, 14).allowed  # one trial at a time
        assert bk.admit(trial, POLICY, 40).needs_trial  # a lost trial may be claimed again
        closed = bk.on_result(trial, POLICY, success=True, duration_ms=1, now=14, trial=True)
        assert closed.state == bk.CLOSED and closed.consecutive_failures == 0
        reopened = _fail(trial, 14)
        assert reopened.state == bk.OPEN and reopened.open_until == 24

    def test_only_a_probe_closes_an_open_breaker(self):
        opened = _fail(_fail(_fail(bk.reset(0), 0), 1), 2)
        still = bk.on_result(opened, POLICY, success=True, duration_ms=1, now=3)
        assert still.state == bk.OPEN
        assert bk.on_probe_success(opened, 4).state == bk.CLOSED

    def test_redaction_of_headers_urls_and_text(self):
        headers = redact_headers(
            {"Authorization": "Bearer abc", "X-Custom-Key": "k", "Accept": "x"},
            extra=["X-Custom-Key"])
        assert headers == {"Authorization": "***", "X-Custom-Key": "***", "Accept": "x"}
        url = redact_url("https://user:pw@api.example.com:8443/v1/x?access_token=s3cr3t&page=2&sig=zz")
        assert "s3cr3t" not in url and "pw" not in url and "zz" not in url
        assert url.startswith("https://api.example.com:8443/v1/x?") and "page=2" in url
        assert redact_text("failed with Bearer abc.def and s3cr3t", ["s3cr3t"]) == \
            "failed with Bearer *** and ***"

    def test_vault_rotation_with_old_and_new_keys(self):
        old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        token = vault_lib.Vault([old]).encrypt("p@ss")
        both = vault_lib.Vault([new, old])
        assert both.decrypt(token) == "p@ss"
        assert not both.is_current(token)
        rotated = both.rotate(token)
        assert both.is_current(rotated)
        assert vault_lib.Vault([new]).decrypt(rotated) == "p@ss"
        with self.assertRaises(vault_lib.VaultDecryptError):
            vault_lib.Vault([new]).decrypt(token)

    def test_vault_keys_come_from_env_config_or_file(self):
        tmp_path = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, tmp_path, ignore_errors=True)
        key = Fernet.generate_key().decode()
        assert vault_lib.load_keys({}, {"IPAI_VAULT_KEYS": f"{key}, other"})[0] == [key, "other"]
        assert vault_lib.load_keys({"ipai_vault_keys": key}, {})[0] == [key]
        path = tmp_path / "keys"
        path.write_text(f"{key}\n")
        os.chmod(path, 0o600)
        keys, source = vault_lib.load_keys({"ipai_vault_keys_file": str(path)}, {})
        assert keys == [key] and "ipai_vault_keys_file" in source
        assert vault_lib.load_keys({}, {}) == ([], None)
        with self.assertRaises(vault_lib.VaultKeyMissing):
            vault_lib.Vault([])
        with self.assertRaises(vault_lib.VaultKeyInvalid):
            vault_lib.Vault(["not-a-key"])

    def test_vault_keys_come_from_the_ipai_vault_section_of_odoo_conf(self):
        """As queue_job reads [queue_job]: Odoo warns about unknown [options] entries only."""
        tmp_path = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, tmp_path, ignore_errors=True)
        new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        key_file = tmp_path / "vault.keys"
        key_file.write_text(f"{new}\n{old}\n")
        conf = tmp_path / "odoo.conf"
        conf.write_text("[options]\ndb_user = odoo\n\n[queue_job]\nchannels = root:2\n\n"
                        f"[ipai_vault]\nkeys_file = {key_file}\n")
        keys, source = vault_lib.load_keys({"config": str(conf)}, {})
        self.assertEqual(keys, [new, old])
        self.assertEqual(source, "file named by keys_file in [ipai_vault]")
        # keys written in the section win over the file, the environment over both
        conf.write_text(f"[ipai_vault]\nkeys = {old}, {new}\nkeys_file = {key_file}\n")
        self.assertEqual(vault_lib.load_keys({"config": str(conf)}, {})[0], [old, new])
        self.assertEqual(
            vault_lib.load_keys({"config": str(conf)}, {"IPAI_VAULT_KEYS": new})[0], [new])
        # the section wins over the older [options] entries
        self.assertEqual(
            vault_lib.load_keys({"config": str(conf), "ipai_vault_keys": new}, {})[0],
            [old, new])
        # no section, a missing or a broken file: no keys, never a crash at read time
        for text in ("[options]\ndb_user = odoo\n", "no section header\n", "[ipai_vault\n"):
            with self.subTest(text=text):
                conf.write_text(text)
                self.assertEqual(vault_lib.load_keys({"config": str(conf)}, {}), ([], None))
        self.assertEqual(vault_lib.read_section(str(tmp_path / "absent.conf")), {})
        # a section naming an unreadable key file is a clear error, not an empty vault
        conf.write_text(f"[ipai_vault]\nkeys_file = {tmp_path / 'gone.keys'}\n")
        with self.assertRaisesRegex(vault_lib.VaultKeyMissing, r"keys_file in \[ipai_vault\]"):
            vault_lib.load_keys({"config": str(conf)}, {})


class TestEngineAdditions(BaseCase):
    """The rate-limit bucket and the 'was the request written?' rule, without Odoo."""

    def test_a_bucket_refills_at_its_rate_and_a_429_blocks_it(self):
        policy = ratelimit.RatePolicy(2, 10.0)  # 0.2 token a second, burst of 2
        bucket, wait = ratelimit.decide(ratelimit.Bucket(2.0, 0.0), policy, 0.0)
        self.assertEqual((bucket.tokens, wait), (1.0, 0.0))
        bucket, wait = ratelimit.decide(bucket, policy, 0.0)
        self.assertEqual((bucket.tokens, wait), (0.0, 0.0))
        bucket, wait = ratelimit.decide(bucket, policy, 1.0)
        self.assertAlmostEqual(wait, 4.0)  # 0.2 refilled, 0.8 to go at 0.2/s
        self.assertAlmostEqual(bucket.tokens, 0.2)
        full = ratelimit.Bucket(2.0, 0.0, blocked_until=5.0)
        bucket, wait = ratelimit.decide(full, policy, 1.0)
        self.assertEqual((bucket.tokens, wait), (0.0, 4.0))
        with self.assertRaises(ValueError):
            ratelimit.RatePolicy(0, 1.0)

    def test_only_failures_before_the_request_was_written_count_as_unsent(self):
        unsent = (
            requests.ConnectTimeout(),
            requests.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "x"))),
            requests.exceptions.SSLError(),
        )
        sent = (
            requests.ReadTimeout(),
            requests.ConnectionError(ProtocolError("Connection aborted.",
                                                   ConnectionResetError())),
        )
        for exc in unsent:
            self.assertFalse(client.request_written(exc), exc)
        for exc in sent:
            self.assertTrue(client.request_written(exc), exc)
