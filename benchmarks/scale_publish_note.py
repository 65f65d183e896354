"""What bounds ``recs-publish`` at the large scale: the prose of ``docs/benchmarks/scale.md``'s
section on the large run (:mod:`scale_report`), with the batch inference measured by
``benchmarks/recs_batch_scale.py``."""

from __future__ import annotations

RECS_PUBLISH_NOTE = [
    "**recs-publish.** Batch inference writes two lists for every user with history (332,207 of "
    "the large world's 500,000 users): the served policy's and the discover list's (a policy without "
    "the user's purchases), each with a new-arrival slot. Where the policy holds ALS (the ci world's "
    "champion serves ALS·0.75 + recent popularity·0.25 for both lists), every user is scored against "
    "all 200,000 products, once per list. The recs-publish earlier attempt stopped after 17 min in "
    "that sub-step: ALS's scores were copied to float64 and ranked by numpy's `argpartition` in "
    "products of 20 users, and the new-arrival slots were chosen by sorting every arrival for every "
    "user (2,251 arrivals at large) and placed by a Python loop per row. Batch inference now ranks "
    "the float32 scores with torch's `topk` (`top_k_wide`: equal scores by item, otherwise the same "
    "lists), scores 167 users per product (the same float bits), scores both lists block by block "
    "with ALS's lists of the block kept for the discover list (`core/recs/block_memo.py`), and "
    "chooses and places the arrivals with whole-block array operations.",
    "",
    "Measured without a trained champion (`benchmarks/recs_batch_scale.py --home /tmp/scale-large "
    "--before <src of the code before>`: that policy for both lists, ALS and popularity fitted on the "
    "whole history, load 10–14 from other jobs, 2026-12-06): both lists of the 332,207 users in "
    "1,067.7 s wall and 492.2 s CPU (1.48 ms of CPU a user, 311 users/s at that load), the reasons "
    "7.2 s, the checks 23.9 s and the store write 27.4 s (SQLite, both lists), 11.2 GB of peak; the "
    "code before took 8.11 ms of CPU a user on 2,000 of them (51 users/s at the same load), with the "
    "same lists, scores and reasons for those users, bit for bit. On the ci world the published lists "
    "and scores of every user are also bit for bit those of the code before. A cProfile of 4,000 "
    "users at large put 56 % of the time in ALS (the product 34 %, the top-k 22 %) and 38 % in "
    "choosing the new arrivals (each user's affinity to the 2,251 arrivals, and the check that the "
    "user did not buy them), done once for each list; the two lists of a block now share the picks "
    "(`LastPicks`). With that, on 60,616 of the users (`--users 60000 --before-users 1000`, load "
    "≈ 6): both lists 91.1 s wall, 70.9 s CPU, 1.17 ms of CPU a user (668 users/s), the code "
    "before 8.78 ms on 1,000 of them, the same lists and reasons; the discover scores of a user "
    "whom the code before scored alone (a purchase-count group of one: numpy's matrix-vector "
    "product rounds the last bit differently from the matrix product) differ in that bit. At about "
    "1.3 ms of CPU a user with the reasons, checks and store write, one core publishes about 750 "
    "users/s at large, under the 2,000 users/s of the demo world (20,000 products): scoring against "
    "the catalog grows with the products, so at the target's 1,000,000 products an ALS policy needs "
    "the Spark path (`VITRINA_ENGINE=spark`) or an approximate inner-product index.",
    "",
    "The recs-publish row is the step on the champion the recs-train row trained and registered on "
    "that world (policy `full`: two-tower and ALS candidates under the LightGBM ranker), run with "
    "`--steps recs-publish` beside a clean-clone test run (load 4–9, 2026-12-06): 1,532 s, 14.1 GB "
    "of peak, batch inference 1,291 s for the 332,207 users (about 290 users/s at that load). An "
    "attempt the same evening was stopped by the machine-memory guard at 13.2 GB, after scoring "
    "every user, while the lists were written to the store (the tests beside it held the rest of "
    "the memory): the store write's strings and reasons for every user are what sets the peak. "
    "The projection's recs-publish row is fitted on ci, demo and large.",
]
"""recs-publish at large: what bounded batch inference, what it costs now and what still grows."""
