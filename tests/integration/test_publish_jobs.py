"""Admin promote / rollback of ``vitrina-recs`` switch the alias in the request and leave the
re-publishing of every active user's list to a job run outside the API, on the served ci home
with the real registry, store and job runner:

* the API answers 202 with a queued job and publishes nothing; the runner publishes the new
  champion, the job is done with what it wrote, and ``/recs`` answers from the new batch;
* a publish that fails leaves the previous batch serving and the job failed with the reason;
* the runner process that ``vitrina serve`` starts waits while a pipeline holds the home,
  then publishes, and stops cleanly with the server.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from vitrina.adapters.home_lock import home_lock
from vitrina.adapters.jobs import PUBLISH_RECS, JobQueue
from vitrina.adapters.lake.io import list_parquet_files
from vitrina.adapters.lake.paths import LakePaths
from vitrina.adapters.registry.mlflow_client import RECS_MODEL
from vitrina.adapters.registry.models import get_version, register_version
from vitrina.bootstrap import open_store
from vitrina.config import Settings, get_settings
from vitrina.pipelines.jobs_runner import publish_pending
from vitrina.serving.app import create_app
from vitrina.serving.worker import job_runner

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "publish-job-key"
TOKEN = "publish-job-console"
ADMIN = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, served_home: Path) -> Path:
    root = tmp_path_factory.mktemp("publish-jobs") / "home"
    shutil.copytree(served_home, root)
    return root


@pytest.fixture(scope="module")
def settings(home: Path) -> Settings:
    return get_settings(home=home, admin_api_key=KEY, console_token=TOKEN)


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        assert client.get("/console", params={"token": TOKEN}).status_code == 200  # console cookie
        yield client


@pytest.fixture(scope="module")
def user(settings: Settings) -> str:
    table = pq.read_table(list_parquet_files(LakePaths(settings.lake), "predictions", "recs")[-1])
    return str(table.column("user_id")[0])


def _store_version(settings: Settings) -> str | None:
    with open_store(settings) as store:
        return store.current_version()


def _register(settings: Settings, run_tag: str, artifact_path: str = "bundle") -> int:
    """A new recs version from the champion's training run (its bundle, or a missing folder)."""
    champion = get_version(settings, RECS_MODEL, "champion")
    assert champion is not None
    assert champion.run_id is not None
    version, _ = register_version(
        settings,
        RECS_MODEL,
        champion.run_id,
        tags={"pipeline_run_id": run_tag},
        artifact_path=artifact_path,
        reason="test",
    )
    return version.version


def _job(api: TestClient, job_id: int) -> dict[str, Any]:
    answer = api.get(f"/admin/jobs/{job_id}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()["job"]
    return job


def _job_line(api: TestClient) -> str:
    page = api.get("/console/models", params={"lang": "en"})
    assert page.status_code == 200
    found = page.text.split('<p class="job job-', 1)
    assert len(found) == 2, "the Modelos page shows no publish job"
    return " ".join(found[1].split("</p>", 1)[0].split())


def test_promote_queues_the_publish_and_the_runner_serves_the_new_batch(
    api: TestClient, settings: Settings, user: str
) -> None:
    before = api.get(f"/recs/{user}").json()
    batch_before = _store_version(settings)
    version = _register(settings, "jobs-new")

    answer = api.post(
        f"/admin/promote/{RECS_MODEL}", headers=ADMIN, json={"version": version, "reason": "jobs"}
    )

    assert answer.status_code == 202, answer.text
    body = answer.json()
    job = body["job"]
    assert (body["ok"], body["champion"], job["state"], job["kind"]) == (
        True,
        version,
        "queued",
        PUBLISH_RECS,
    )
    assert answer.headers["location"] == f"/admin/jobs/{job['id']}"
    assert f"re-publishing the lists in job {job['id']}: they change when it is done" in body["message"]
    assert get_version(settings, RECS_MODEL, "champion").version == version  # type: ignore[union-attr]
    # nothing was published in the request: the previous batch answers
    assert _store_version(settings) == batch_before
    assert api.get(f"/recs/{user}").json()["model_version"] == before["model_version"]
    assert _job(api, job["id"])["state"] == "queued"
    assert job["id"] in [j["id"] for j in api.get("/admin/jobs", headers=ADMIN).json()["jobs"]]
    assert f"job {job['id']} is queued" in _job_line(api)

    (finished,) = publish_pending(settings)  # the runner's work, in this process

    assert (finished.id, finished.state, finished.error) == (job["id"], "done", None)
    done = _job(api, job["id"])
    assert done["state"] == "done"
    assert done["result"]["model_version"] == "recs-jobs-new"
    assert done["result"]["store_version"] == _store_version(settings) != batch_before
    assert done["result"]["users"] > 0
    assert done["started_at"] <= done["finished_at"]
    after = api.get(f"/recs/{user}").json()
    assert (after["model_version"], after["batch_version"]) == (
        "recs-jobs-new",
        done["result"]["store_version"],
    )
    # the runner told the API to reload: the fallback list follows within about a second
    deadline = time.monotonic() + 15
    while "recs=recs-jobs-new;" not in api.get("/health").headers["x-model-version"]:
        assert time.monotonic() < deadline, "the API did not reload after the job"
        time.sleep(0.2)
    assert f"job {job['id']} done" in _job_line(api)


def test_a_failing_publish_leaves_the_previous_batch_serving(
    api: TestClient, settings: Settings, user: str
) -> None:
    before = api.get(f"/recs/{user}").json()
    batch_before = _store_version(settings)
    broken = _register(settings, "jobs-broken", artifact_path="no-such-bundle")

    answer = api.post(f"/admin/promote/{RECS_MODEL}", headers=ADMIN, json={"version": broken})
    assert answer.status_code == 202, answer.text
    (failed,) = publish_pending(settings)

    assert failed.state == "failed"
    job = _job(api, failed.id)
    assert job["state"] == "failed"
    assert "no-such-bundle" in job["error"]
    assert job["progress"] == "assembling the champion model"  # where it stopped
    assert _store_version(settings) == batch_before
    after = api.get(f"/recs/{user}").json()
    assert (after["model_version"], after["batch_version"]) == (
        before["model_version"],
        before["batch_version"],
    )
    line = _job_line(api)
    assert f"Re-publishing failed: job {failed.id}" in line
    assert "The previous lists keep serving." in line


def test_the_runner_beside_the_server_waits_for_the_home_then_publishes(
    api: TestClient, settings: Settings, user: str
) -> None:
    version = _register(settings, "jobs-runner")
    answer = api.post(f"/admin/promote/{RECS_MODEL}", headers=ADMIN, json={"version": version})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job"]["id"]
    queue = JobQueue(settings.home)
    with home_lock(settings, command="vitrina run recs (test)"), job_runner(settings) as runner:
        assert runner is not None
        deadline = time.monotonic() + 120
        while "waiting for the home's run lock" not in (queue.get(job_id).progress):  # type: ignore[union-attr]
            assert runner.poll() is None, "the runner exited"
            assert time.monotonic() < deadline, "the runner never noticed the queued job"
            time.sleep(0.2)
        assert "'vitrina run recs (test)'" in queue.get(job_id).progress  # type: ignore[union-attr]
        assert queue.get(job_id).state == "queued"  # type: ignore[union-attr]
    # the lock is free, the runner stopped with the block: start it again, as a restart would
    with job_runner(settings) as runner:
        assert runner is not None
        deadline = time.monotonic() + 600
        while (state := queue.get(job_id).state) != "done":  # type: ignore[union-attr]
            assert state != "failed", queue.get(job_id)
            assert runner.poll() is None, "the runner exited"
            assert time.monotonic() < deadline, "the job did not finish"
            time.sleep(0.5)
    assert runner.returncode == 0  # SIGTERM: a clean stop
    assert api.get(f"/recs/{user}").json()["model_version"] == "recs-jobs-runner"  # the new champion


def _register_search(settings: Settings, folder: Path, index_version: str) -> int:
    """A ``vitrina-search`` version whose bundle names ``index_version`` (a run of its own)."""
    from vitrina.adapters.models.champion_index import INDEX_FILE
    from vitrina.adapters.registry.mlflow_client import SEARCH_MODEL, experiment_id, mlflow_client

    folder.mkdir(parents=True)
    (folder / INDEX_FILE).write_text(json.dumps({"index_version": index_version}))
    client = mlflow_client(settings)
    run = client.create_run(experiment_id(client, settings, SEARCH_MODEL))
    client.log_artifacts(run.info.run_id, str(folder), artifact_path="bundle")
    client.set_terminated(run.info.run_id)
    version, _ = register_version(settings, SEARCH_MODEL, run.info.run_id, reason="test")
    return version.version


def test_promoting_search_moves_the_index_pointer_in_the_request(
    api: TestClient, settings: Settings, tmp_path: Path
) -> None:
    from vitrina.adapters.models.index_versions import current_version, next_version, version_folder
    from vitrina.adapters.registry.mlflow_client import SEARCH_MODEL

    served = current_version(settings)
    assert served is not None
    copy = next_version(settings)  # the same index under a second name: a champion of its own
    shutil.copytree(version_folder(settings, served), version_folder(settings, copy))
    _register_search(settings, tmp_path / "first", served)  # the first version: champion
    challenger = _register_search(settings, tmp_path / "second", copy)
    jobs_before = len(JobQueue(settings.home).recent(100))

    answer = api.post(f"/admin/promote/{SEARCH_MODEL}", headers=ADMIN, json={"reason": "new index"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["champion"], body["index_version"], body["job"]) == (challenger, copy, None)
    assert f"search now serves index {copy}" in body["message"]
    assert current_version(settings) == copy
    assert api.get("/ready").json()["components"]["search"] == f"ok ({copy})"  # reloaded
    assert api.get("/search", params={"q": "zapatillas"}).json()["index_version"] == copy
    assert len(JobQueue(settings.home).recent(100)) == jobs_before  # no job for search

    back = api.post(f"/admin/rollback/{SEARCH_MODEL}", headers=ADMIN, json={"reason": "test"})
    assert back.status_code == 200, back.text
    assert (back.json()["index_version"], current_version(settings)) == (served, served)


def test_jobs_need_the_admin_key_and_unknown_ones_are_404(api: TestClient) -> None:
    assert api.get("/admin/jobs").status_code == 401
    assert api.get("/admin/jobs/1", headers={"X-API-Key": "wrong"}).status_code == 403
    missing = api.get("/admin/jobs/987654", headers=ADMIN)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "there is no job 987654"
    assert api.get("/admin/jobs/0", headers=ADMIN).status_code == 422
    assert api.get(f"/admin/jobs/{2**63}", headers=ADMIN).status_code == 422
    listed = api.get("/admin/jobs", headers=ADMIN, params={"limit": 2}).json()["jobs"]
    assert len(listed) <= 2
    assert [j["id"] for j in listed] == sorted((j["id"] for j in listed), reverse=True)


def test_models_publish_runs_the_same_job_from_the_cli(api: TestClient, settings: Settings) -> None:
    """Where no runner serves the home, `vitrina models publish` queues the publish job and runs
    it in its own process: a failure exits 1 and leaves the batch, a success publishes a new
    store version; both are jobs the API and console show like the runner's."""
    from typer.testing import CliRunner

    from vitrina.adapters.registry.models import promote
    from vitrina.cli.main import app

    def publish() -> tuple[int, str]:
        result = CliRunner().invoke(app, ["models", "publish", "--home", str(settings.home)])
        return result.exit_code, " ".join(result.output.split())

    batch_before = _store_version(settings)
    promote(settings, RECS_MODEL, "cli test: broken", _register(settings, "cli-broken", "no-such-bundle"))
    code, output = publish()
    assert code == 1, output
    assert "the store keeps its current batch" in output
    assert "no-such-bundle" in output
    assert _store_version(settings) == batch_before

    promote(settings, RECS_MODEL, "cli test: good", _register(settings, "cli-good"))
    code, output = publish()
    assert code == 0, output
    job_id = int(output.split("publish job ", 1)[1].split()[0])
    assert _job(api, job_id)["state"] == "done"
    assert _store_version(settings) not in (None, batch_before)
