"""One two-tower training step at the demo and large vocabulary sizes: dense id-table gradients
with the unfused Adam, against sparse gradients densified into kept buffers with the fused Adam
(what :mod:`vitrina.core.recs.two_tower.model` trains with).

    .venv/bin/python benchmarks/two_tower_step.py

A step's forward pass costs the same whatever the vocabulary (a batch of 512 pairs with
bags of 20 items); dense gradients allocate and clear every id table at every step, and the
unfused update makes several passes over every table, so both grow with the users and items.
Prints the median milliseconds of each phase over 20 steps (after 5 warm-up steps), one thread,
random ids.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch

from vitrina.core.recs.two_tower.dense_gradients import DenseGradients
from vitrina.core.recs.two_tower.network import TowerShape, TwoTowerNet, sampled_softmax_loss

SIZES = {"demo": (30_000, 20_000), "large": (500_000, 200_000)}  # (users, items)
BATCH, BAG, STEPS, WARM_UP = 512, 20, 20, 5


def measure(users: int, items: int, sparse: bool) -> dict[str, float]:
    """Median ms of forward, backward (+ densify) and the optimizer step."""
    torch.manual_seed(0)
    net = TwoTowerNet(TowerShape(users, items, (5, 50, 6), (10, 60, 300, 200, 17)))
    tables = [net.user_id.weight, net.item_id.weight]
    if not sparse:  # the dense variant: plain embeddings, the default Adam
        net.user_id.sparse = net.item_id.sparse = False
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3, fused=sparse)
    gradients = DenseGradients(tables)
    phases: dict[str, list[float]] = {"forward": [], "backward": [], "step": []}
    for step in range(STEPS + WARM_UP):
        user, item = torch.randint(0, users, (BATCH,)), torch.randint(0, items, (BATCH,))
        bags = torch.randint(0, items, (BATCH, BAG))
        t0 = time.perf_counter()
        u = net.encode_users(user, net.user_features[user], bags)
        i = net.encode_items(item, net.item_features[item])
        loss = sampled_softmax_loss(u, i, torch.zeros(BATCH), 0.05, item)
        t1 = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        if sparse:
            gradients.densify()
        t2 = time.perf_counter()
        optimizer.step()
        if sparse:
            gradients.clear()
        t3 = time.perf_counter()
        if step >= WARM_UP:
            for name, seconds in zip(phases, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                phases[name].append(seconds * 1000)
    return {name: float(np.median(values)) for name, values in phases.items()}


def main() -> None:
    torch.set_num_threads(1)
    print(f"load {os.getloadavg()[0]:.1f}")
    for scale, (users, items) in SIZES.items():
        for sparse in (False, True):
            ms = measure(users, items, sparse)
            total = sum(ms.values())
            kind = "sparse + fused Adam" if sparse else "dense + Adam"
            phases = ", ".join(f"{name} {value:.0f}" for name, value in ms.items())
            print(f"{scale:5} {kind:19} {total:6.0f} ms a step ({phases})")


if __name__ == "__main__":
    main()
