"""Worker Deployment Versioning: each release of the worker is a version (`Q2C_BUILD_ID`) of the `q2c`
deployment; a QuoteToCash saga stays pinned to the version that started it (it may run for weeks, and its
code must replay exactly), while long-lived entities (CustomerSync, contract entities) move to the current
version on their next task (auto-upgrade), their changes guarded by the patch register (workflows/patches.py).

Deploy: start the new version's workers beside the old ones, then make it current (`set_current`); new sagas
start on it. Drain: the old version's workers keep serving its pinned sagas until `drainage` says drained.
Rollback: make the old version current again; sagas started on the new one stay pinned to it, so keep its
workers until they drain too. Without `Q2C_BUILD_ID` the worker is unversioned (the patch register alone).
"""

from __future__ import annotations

import asyncio
import os

from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentVersionRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.service import RPCError
from temporalio.worker import WorkerDeploymentConfig

DEPLOYMENT = "q2c"


def deployment(build_id: str | None = None) -> WorkerDeploymentConfig | None:
    """This worker's version of the `q2c` deployment (`Q2C_BUILD_ID`), or None: an unversioned worker."""
    build_id = build_id or os.environ.get("Q2C_BUILD_ID")
    if not build_id:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name=DEPLOYMENT, build_id=build_id),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,  # PinnedQuoteToCash declares itself PINNED
    )


async def set_current(client: Client, build_id: str, *, within: float = 30) -> None:
    """Make `build_id` the version new workflows start on (deploy, or roll back). Its workers must have polled
    (the server knows a version from its first poll), so this waits for them up to `within` seconds."""
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace, deployment_name=DEPLOYMENT, build_id=build_id, ignore_missing_task_queues=True
    )
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            await client.workflow_service.set_worker_deployment_current_version(request)
            return
        except RPCError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def drainage(client: Client, build_id: str) -> str:
    """`draining` while pinned workflows still run on a version no longer current, `drained` once none do
    (the server refreshes this periodically), `unspecified` while it is current."""
    described = await client.workflow_service.describe_worker_deployment_version(
        DescribeWorkerDeploymentVersionRequest(
            namespace=client.namespace,
            deployment_version=WorkerDeploymentVersion(deployment_name=DEPLOYMENT, build_id=build_id)._to_proto(),
        )
    )
    status = described.worker_deployment_version_info.drainage_info.status
    return {0: "unspecified", 1: "draining", 2: "drained"}.get(int(status), str(status))
