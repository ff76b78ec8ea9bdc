"""Sitrep's own Apache Kafka: jars from Maven, a local KRaft cluster, and its topics."""

from sitrep.kafka.admin import (
    ClusterInfo,
    describe_cluster,
    describe_node,
    ensure_topics,
    wait_until_ready,
)
from sitrep.kafka.broker import (
    ClusterState,
    ClusterStatus,
    LocalCluster,
    NodeStatus,
    StartResult,
    new_cluster_id,
)
from sitrep.kafka.errors import KafkaSetupError
from sitrep.kafka.jars import deploy_dir, ensure_jars, jars_dir, jars_ready

__all__ = [
    "ClusterInfo",
    "ClusterState",
    "ClusterStatus",
    "KafkaSetupError",
    "LocalCluster",
    "NodeStatus",
    "StartResult",
    "deploy_dir",
    "describe_cluster",
    "describe_node",
    "ensure_jars",
    "ensure_topics",
    "jars_dir",
    "jars_ready",
    "new_cluster_id",
    "wait_until_ready",
]
