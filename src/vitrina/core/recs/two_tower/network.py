"""The two-tower network, its input encoding and its loss (PyTorch, CPU).

User tower: user-id embedding ⊕ segment, city, age-range embeddings ⊕ mean of the id
embeddings of the user's last ``bag_len`` distinct chosen items (the "bag", sharing the item-id
table, as in Covington et al. 2016). Item tower: item-id embedding ⊕ category L1/L2/L3, brand
and log-price-bucket embeddings. Each tower is a two-layer MLP ending in a 64-d vector
scaled to unit L2 norm, so a dot product is a cosine and the temperature alone sets the
sharpness of the softmax.

Row ``n_users`` of the user-id table and row ``n_items`` of the item-id table are the
*unknown* ids: training replaces ids by them with a small probability (id dropout), so a user
or item first met after training is still embedded from its features (cold start) instead
of from an untrained random row. Row ``n_items + 1`` of the item table is the bag padding
(zero, never trained).

Static inputs (every user's and item's feature codes, every user's bag) live in the module
as buffers: they are saved in the same safetensors ``state_dict`` and a loaded model embeds
any known user or item without the original tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812 (the usual alias)
from torch import Tensor, nn

USER_FEATURES = ("segment", "city", "age_range")
ITEM_FEATURES = ("category_l1", "category_l2", "category_l3", "brand", "price_bucket")


@dataclass(frozen=True)
class TowerShape:
    """Vocabulary sizes and widths; everything needed to rebuild the module before loading."""

    n_users: int
    n_items: int
    user_cardinalities: tuple[int, ...]  # one per USER_FEATURES
    item_cardinalities: tuple[int, ...]  # one per ITEM_FEATURES
    bag_len: int = 20
    id_dim: int = 32
    feature_dim: int = 8
    hidden: int = 128
    out_dim: int = 64


def _mlp(width_in: int, hidden: int, width_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width_in, hidden), nn.ReLU(), nn.Linear(hidden, width_out))


class TwoTowerNet(nn.Module):
    """Both towers. Buffers: ``user_features`` (n_users, 3), ``item_features`` (n_items, 5),
    ``user_bags`` (n_users, bag_len) int64, padded with ``bag_pad``."""

    def __init__(self, shape: TowerShape) -> None:
        super().__init__()
        self.shape = shape
        self.unknown_user = shape.n_users
        self.unknown_item = shape.n_items
        self.bag_pad = shape.n_items + 1
        # sparse gradients: a batch touches a few hundred rows of the id tables, and a dense
        # gradient would allocate and clear the whole table at every step (the trainer turns
        # them back into the dense gradient Adam expects, at the cost of the touched rows)
        self.user_id = nn.Embedding(shape.n_users + 1, shape.id_dim, sparse=True)
        self.item_id = nn.Embedding(shape.n_items + 2, shape.id_dim, padding_idx=self.bag_pad, sparse=True)
        width = shape.feature_dim
        self.user_feature = nn.ModuleList(nn.Embedding(c, width) for c in shape.user_cardinalities)
        self.item_feature = nn.ModuleList(nn.Embedding(c, width) for c in shape.item_cardinalities)
        n_user_features, n_item_features = len(shape.user_cardinalities), len(shape.item_cardinalities)
        user_in = 2 * shape.id_dim + n_user_features * width
        item_in = shape.id_dim + n_item_features * width
        self.user_mlp = _mlp(user_in, shape.hidden, shape.out_dim)
        self.item_mlp = _mlp(item_in, shape.hidden, shape.out_dim)
        for embedding in (self.user_id, self.item_id, *self.user_feature, *self.item_feature):
            nn.init.normal_(embedding.weight, std=0.05)
        with torch.no_grad():
            self.item_id.weight[self.bag_pad].zero_()
        self.user_features: Tensor
        self.item_features: Tensor
        self.user_bags: Tensor
        self.user_trained: Tensor
        self.item_trained: Tensor
        self.register_buffer("user_features", torch.zeros(shape.n_users, n_user_features).long())
        self.register_buffer("item_features", torch.zeros(shape.n_items, n_item_features).long())
        self.register_buffer("user_bags", torch.full((shape.n_users, shape.bag_len), self.bag_pad).long())
        # Ids seen in training; any other id is embedded through the unknown row.
        self.register_buffer("user_trained", torch.zeros(shape.n_users, dtype=torch.bool))
        self.register_buffer("item_trained", torch.zeros(shape.n_items, dtype=torch.bool))

    def encode_users(self, ids: Tensor, features: Tensor, bags: Tensor) -> Tensor:
        """Unit vectors ``(B, out_dim)`` from id indices ``(B,)`` (``unknown_user`` allowed),
        feature codes ``(B, 3)`` and bags ``(B, bag_len)`` padded with ``bag_pad``."""
        filled = (bags != self.bag_pad).float()
        bag = (self.item_id(bags) * filled.unsqueeze(-1)).sum(1) / filled.sum(1, keepdim=True).clamp(min=1.0)
        parts = [self.user_id(ids), bag, *(emb(features[:, j]) for j, emb in enumerate(self.user_feature))]
        return F.normalize(self.user_mlp(torch.cat(parts, dim=1)), dim=1)

    def encode_items(self, ids: Tensor, features: Tensor) -> Tensor:
        """Unit vectors ``(B, out_dim)`` from id indices ``(B,)`` (``unknown_item`` allowed) and
        feature codes ``(B, 5)``."""
        parts = [self.item_id(ids), *(emb(features[:, j]) for j, emb in enumerate(self.item_feature))]
        return F.normalize(self.item_mlp(torch.cat(parts, dim=1)), dim=1)

    def users(self, users: Tensor) -> Tensor:
        """Embeddings of users (indices into the buffers), with their stored bags; users
        without training pairs go through the unknown id row."""
        ids = torch.where(self.user_trained[users], users, self.unknown_user)
        return self.encode_users(ids, self.user_features[users], self.user_bags[users])

    def items(self, items: Tensor) -> Tensor:
        """Embeddings of items (indices into the buffers); items never trained on go through
        the unknown id row, i.e. are embedded from their features (cold start)."""
        ids = torch.where(self.item_trained[items], items, self.unknown_item)
        return self.encode_items(ids, self.item_features[items])


def sampled_softmax_loss(
    users: Tensor,
    items: Tensor,
    log_q: Tensor,
    temperature: float,
    item_ids: Tensor | None = None,
    hard: Tensor | None = None,
    hard_valid: Tensor | None = None,
) -> Tensor:
    """In-batch sampled softmax with log-Q correction (Yi et al. 2019), mean over the batch.

    Row ``i`` pairs user ``users[i]`` with its positive ``items[i]``; the other rows' items are
    its negatives. Because those negatives were drawn by the training stream, popular items
    appear as negatives more often than under a full softmax; subtracting ``log_q[j]`` (the
    log-probability that item ``j`` is drawn by the stream) from every logit of column ``j``,
    positive included, removes that bias::

        logit[i, j] = <users[i], items[j]> / temperature - log_q[j]

    Args:
        users, items: ``(B, d)`` tower outputs.
        log_q: ``(B,)`` log sampling probability of each row's item.
        temperature: softmax temperature (> 0).
        item_ids: ``(B,)`` item indices; a column holding the same item as row ``i``'s positive
            is not a negative for row ``i`` (masked), so duplicates in a batch do no harm.
        hard: ``(B, H, d)`` extra, row-specific negatives (mined, not drawn by the stream, so
            no log-Q term); ``hard_valid`` ``(B, H)`` bool masks padding.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = users @ items.T / temperature - log_q.unsqueeze(0)
    if item_ids is not None:
        duplicate = item_ids.unsqueeze(0) == item_ids.unsqueeze(1)
        duplicate.fill_diagonal_(False)
        logits = logits.masked_fill(duplicate, float("-inf"))
    if hard is not None:
        hard_logits = torch.einsum("bd,bhd->bh", users, hard) / temperature
        if hard_valid is not None:
            hard_logits = hard_logits.masked_fill(~hard_valid, float("-inf"))
        logits = torch.cat([logits, hard_logits], dim=1)
    target = torch.arange(users.shape[0], device=users.device)
    return F.cross_entropy(logits, target)
