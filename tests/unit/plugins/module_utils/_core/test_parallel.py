"""run_bounded: a few items at a time, stop starting new ones at the first failure, the running ones finish."""
import threading
import time

from ansible_collections.keycloak_ops.clients.plugins.module_utils._core.parallel import WorkerError, run_bounded


class Refused(Exception):
    pass


def test_every_item_runs_and_results_keep_their_index():
    done, failed = run_bounded(lambda i: i * i, range(20), Refused, workers=4)
    assert done == {i: i * i for i in range(20)} and failed == {}


def test_no_more_than_workers_at_once():
    lock, running, peak = threading.Lock(), [0], [0]

    def work(_index):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    run_bounded(work, range(30), Refused, workers=3)
    assert peak[0] == 3


def test_a_failure_stops_new_items_and_lets_running_ones_finish():
    started = []

    def work(index):
        started.append(index)
        if index == 5:
            raise Refused("no")
        time.sleep(0.02)
        return index

    done, failed = run_bounded(work, range(40), Refused, workers=4)
    assert list(failed) == [5] and isinstance(failed[5], Refused)
    assert max(started) < 5 + 4, "nothing started after the failure but what was already running"
    assert set(done) == set(started) - {5}, "every started item finished"


def test_one_worker_runs_in_order_in_this_thread():
    threads = set()
    done, failed = run_bounded(lambda i: threads.add(threading.current_thread()) or i, range(5), Refused, workers=1)
    assert list(done) == [0, 1, 2, 3, 4] and threads == {threading.current_thread()} and not failed


def test_an_unexpected_error_stops_new_items_and_is_returned_as_one_line():
    def work(index):
        if index == 2:
            raise KeyError("bug\nin two lines")
        return index

    for workers in (1, 4):
        done, failed = run_bounded(work, range(10), Refused, workers=workers)
        assert list(failed) == [2] and isinstance(failed[2], WorkerError)
        assert str(failed[2]) == "unexpected error in the collection (KeyError: 'bug\\nin two lines'); the task was stopped, please report it"
        assert len(done) < 9, "no item started after the failure"
