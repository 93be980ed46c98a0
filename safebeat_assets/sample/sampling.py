"""Seeded random helpers shared by the generators (vectorised, no per-row Python loops)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# One independent random stream per component, so that e.g. the block groups do not change
# when the number of calls does.
STREAM_GEOGRAPHY = 1
STREAM_EVENTS = 2
STREAM_CALLS = 3
STREAM_LOCATIONS = 4


def rng_for(seed: int, stream: int, *sub: int) -> np.random.Generator:
    """A generator for (seed, stream, sub...) that does not depend on any other stream."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream), *map(int, sub)]))


def normalized(weights: Sequence[float] | np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    total = w.sum()
    if total <= 0:
        raise ValueError("weights must have a positive sum")
    return w / total


def choice_by_group(rng: np.random.Generator, groups: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """For each row i, draw a column index from the distribution ``probs[groups[i]]``.

    ``probs`` is (n_groups, k) with rows summing to one. Vectorised with one searchsorted on
    the cumulative rows shifted by their group number.
    """
    probs = np.asarray(probs, dtype=float)
    n_groups, k = probs.shape
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    flat = (cum + np.arange(n_groups)[:, None]).ravel()
    groups = np.asarray(groups, dtype=np.int64)
    u = rng.random(groups.shape[0])
    idx = np.searchsorted(flat, u + groups, side="right") - groups * k
    return np.clip(idx, 0, k - 1)


def choice(rng: np.random.Generator, n: int, probs: Sequence[float] | np.ndarray) -> np.ndarray:
    """n draws of indices 0..k-1 with the given probabilities (normalised here)."""
    p = normalized(probs)
    return rng.choice(p.shape[0], size=n, p=p)


def ipf(
    affinity: np.ndarray,
    row_margin: np.ndarray,
    col_margin: np.ndarray,
    iterations: int = 200,
) -> np.ndarray:
    """Iterative proportional fitting: a joint matrix shaped like ``affinity`` whose row and
    column sums match the (normalised) margins."""
    joint = np.asarray(affinity, dtype=float).copy()
    r = normalized(row_margin)
    c = normalized(col_margin)
    joint /= joint.sum()
    for _ in range(iterations):
        rs = joint.sum(axis=1)
        joint *= np.divide(r, rs, out=np.zeros_like(r), where=rs > 0)[:, None]
        cs = joint.sum(axis=0)
        joint *= np.divide(c, cs, out=np.zeros_like(c), where=cs > 0)[None, :]
    return joint


def conditional_rows(joint: np.ndarray) -> np.ndarray:
    """Row-normalise a joint matrix into P(column | row)."""
    rs = joint.sum(axis=1, keepdims=True)
    out = np.divide(joint, rs, out=np.zeros_like(joint), where=rs > 0)
    empty = rs[:, 0] <= 0
    if empty.any():
        out[empty] = 1.0 / joint.shape[1]
    return out


def segment_choice(
    rng: np.random.Generator,
    segment_of_row: np.ndarray,
    segment_offsets: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """Draw one position per row from that row's segment of a flat weight array.

    ``weights`` is the concatenation of every segment's weights and ``segment_offsets`` (length
    n_segments + 1) delimits them. Returns positions into ``weights``.
    """
    n_seg = segment_offsets.shape[0] - 1
    seg_ids = np.repeat(np.arange(n_seg), np.diff(segment_offsets))
    w = np.asarray(weights, dtype=float)
    totals = np.bincount(seg_ids, weights=w, minlength=n_seg)
    cum = np.cumsum(w)
    start_cum = np.concatenate([[0.0], cum])[segment_offsets[:-1]]
    within = (cum - start_cum[seg_ids]) / np.where(totals[seg_ids] > 0, totals[seg_ids], 1.0)
    flat = within + seg_ids
    # make the last element of each segment exactly seg+1
    ends = segment_offsets[1:] - 1
    valid = ends >= segment_offsets[:-1]
    flat[ends[valid]] = np.arange(n_seg)[valid] + 1.0
    u = rng.random(segment_of_row.shape[0])
    pos = np.searchsorted(flat, u + segment_of_row, side="right")
    lo = segment_offsets[segment_of_row]
    hi = segment_offsets[segment_of_row + 1] - 1
    return np.clip(pos, lo, hi)
