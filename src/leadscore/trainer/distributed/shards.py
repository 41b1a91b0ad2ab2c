"""A data set's shards mapped on a Ray cluster with Ray Data, one shard per task, in shard order.

``score --engine ray`` scores each shard and ``train --engine ray`` reads and checks each one
through ``map_shards``: one row of a Ray data set per shard, ``map_batches`` over actors of one CPU
(as many as there are shards and free CPUs), rows back in shard order. A worker's refusal
(``LeadscoreError``) comes back as data in the row's ``error`` and is raised on the driver as its
own class (Ray keeps only a task error's text).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from leadscore.trainer.distributed import cluster

ERROR = "error"
"""The column a shard actor fills with ``cluster.error_text`` instead of raising."""


def map_shards(shards: list[str], actor: type, kwargs: dict[str, Any], threads: int = 1) -> Iterator[dict[str, Any]]:
    """``actor(**kwargs)`` called on batches of one shard (``{"shard": [uri]}``) across the cluster;
    its rows in shard order, a row whose ``error`` is set raised as the worker's error. Needs a
    joined Ray (``cluster.session``)."""
    import ray

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # rows come back in the shards' order
    mapped = ray.data.from_items([{"shard": shard} for shard in shards], override_num_blocks=len(shards)) \
        .map_batches(actor, batch_size=1, num_cpus=threads, concurrency=(1, len(shards)),
                     fn_constructor_kwargs=kwargs)
    for row in mapped.iter_rows():
        if row[ERROR]:
            cluster.raise_error_text(row[ERROR])
        yield row
