"""Faults with real processes (issue 15): which test holds each fault.

Every test here runs ``imagebot run`` as a child process against real ``docker-registry``
processes and a real git remote (``git http-backend`` over smart HTTP), set up by
:mod:`tests.faults.fleet`: three image repositories on two registries, one automation. After each
fault: every other repository was scanned, nothing is half-written (state file, clone, remote:
``Fleet.assert_intact``), and the next run completes the work exactly once
(``Fleet.assert_converged``: every change on the remote once, in the expected number of commits).
Faults a real server cannot produce come from :mod:`testing.faultproxy` in front of the real
registry, or from :class:`testing.gitserver.GitHttpServer` holding a request; kills are timed by
holding a request (a :class:`testing.faultproxy.Gate`), never by sleeping.

=====================================  ===========================================================
fault                                  test
=====================================  ===========================================================
registry killed mid-listing            ``test_registry_faults.py::test_registry_killed_mid_listing``
registry killed mid-digests            ``test_registry_faults.py::test_registry_killed_mid_digests``
5xx storm                              ``test_registry_faults.py::test_5xx_storm_gets_a_bounded_number_of_requests``
429 with / without ``Retry-After``     ``test_registry_faults.py::test_429_then_success_completes_in_the_same_run``
429 with a long ``Retry-After``        ``test_registry_faults.py::test_429_with_a_long_retry_after_blocks_that_registry_for_the_run``
slow-drip body                         ``test_registry_faults.py::test_slow_drip_body_hits_the_request_deadline``
endless body                           ``test_registry_faults.py::test_endless_body_is_capped``
token server down                      ``test_registry_faults.py::test_token_server_down``
TLS: wrong CA, expired, wrong name     ``test_registry_faults.py::test_tls_errors``
git remote refusing (pre-receive)      ``test_git_faults.py::test_remote_refusing_the_push``
git remote hanging (fetch, push)       ``test_git_faults.py::test_remote_hanging``
git remote racing (another writer)     ``test_git_faults.py::test_another_writer_pushes_between_fetch_and_push``
SIGKILL at every stage boundary        ``test_kill.py::test_sigkill_at_a_stage_boundary_then_the_next_run_commits_exactly_once``
state file locked by another process   ``test_state_file.py::test_a_state_file_locked_by_another_process_is_waited_for_then_the_run_goes_on``
state file corrupted (--reset-state)   ``test_state_file.py::test_a_corrupted_state_file_names_the_way_out_and_reset_state_rebuilds``
=====================================  ===========================================================

The same faults one level down, in-process (``httpx.MockTransport`` or the library API), stay where
they were: ``tests/scan/test_scan_faults.py`` (paging, 5xx and 429 retry arithmetic, caps, token
flows), ``tests/git/test_deadlines.py`` (a silent remote for clone and push, SSH too),
``tests/git/test_push_rejection.py`` (hooks, races and leases on local and HTTP remotes),
``tests/integration/test_pipeline_race.py`` (two bots and a human on one branch),
``tests/integration/test_run_concurrent.py`` (two processes sharing a work directory) and
``tests/integration/test_serve.py`` (serve: SIGHUP with a broken configuration, SIGTERM).
"""
