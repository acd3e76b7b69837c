"""Item answers from scores: the instruments' scoring rules run backwards.

Each function takes the scores decided by the latent layer (one per respondent-wave row) and writes
the item answers of an instrument in contract order, using :func:`items.realize` so that the
project's scoring engine (``veiligverder.instruments``, with the shipped illustrative keys for the
licensed lists) gives back those scores. Which items form a scale, which are reverse-keyed, the
norms and the cut-offs are read from the instrument specs and keys, never copied here.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from veiligverder.contract import block_items, load_codebook
from veiligverder.instruments import load_spec
from veiligverder.synthetic.items import realize, thresholds

CTS_STEPS = np.log([0.5, 1.5, 3.0, 6.0, 11.5, 20.0])   # log incident counts between the codes 3..8


def cts_gains() -> np.ndarray:
    """Incidents added by each step up the past-year codes 3..8 (``blocks.cts_frequency``)."""
    freq = load_codebook()["blocks"]["cts_frequency"]["codes"]
    counts = np.array([float(freq[c]) for c in range(3, 9)])
    return np.diff(np.concatenate([[0.0], counts]))


def cts_block(target: np.ndarray, propensity: np.ndarray, blocks: np.ndarray, cfg: dict[str, Any],
              rng: np.random.Generator) -> np.ndarray:
    """CTS answer codes 1-8 for a set of items whose incidents add up to ``target`` per row.

    ``propensity`` (per item, log scale) says how common an item is; every row gets its own shift
    per block (``block_sd``), so items of one block agree more than items of different blocks. An
    item without a past-year incident is coded 2 ('before, not in the past year') with probability
    ``history`` where the row has any incident, else 1 ('never'); a share ``skip`` of the 'never'
    answers is left unanswered (item non-response; it counts as 0 incidents, CONTRACT §2).
    """
    n, k = len(target), len(propensity)
    shift = cfg["block_sd"] * rng.standard_normal((n, int(blocks.max()) + 1))[:, blocks]
    b = thresholds(-np.asarray(propensity, float), CTS_STEPS)[None, :, :] - shift[:, :, None]
    levels, _ = realize(target, rng.random((n, k)), b, a=cfg["a"], gains=cts_gains())
    history = (rng.random((n, k)) < cfg["history"]) & (np.nan_to_num(target) > 0)[:, None]
    codes = np.where(levels > 0, levels + 2, np.where(history, 2.0, 1.0))
    skipped = (codes == 1) & (rng.random((n, k)) < cfg["skip"])
    return np.where(np.isnan(levels) | skipped, np.nan, codes)


def cts_items(instrument: str, targets: dict[str, np.ndarray], cfg: dict[str, Any],
              rng: np.random.Generator) -> np.ndarray:
    """Answer codes of one CTS list (``cts2`` own + partner as one set, ``ctspc``, ``ctspcc``).

    ``targets`` maps a target name to incidents per row: ``violence`` (all mild and severe items
    of the set, for cts2 over own and partner's acts together), ``negotiation`` or
    ``nonviolent_discipline``, and for ``ctspcc`` ``witnessing``.
    """
    blocks = load_codebook()["blocks"][instrument]
    names = list(blocks)
    prop = cfg["propensity"]
    parts: list[tuple[str, list[int], np.ndarray, np.ndarray]] = []
    for name, spec in blocks.items():
        if name in ("cts_frequency", "auditc"):
            continue
        items = block_items(instrument, block=name)
        role = {"none": names[0], "witnessed": "witnessing"}.get(spec["severity"], "violence")
        parts.append((role, items, np.full(len(items), prop[name]), np.full(len(items), names.index(name))))
    n_items = max(i for _, items, _, _ in parts for i in items)
    copies = 2 if instrument == "cts2" else 1                      # cts2: own acts, then partner's acts
    n = len(next(iter(targets.values())))
    out = np.full((n, copies * n_items), np.nan)
    for role in dict.fromkeys(r for r, *_ in parts):
        sel = [(items, p, bl) for r, items, p, bl in parts if r == role]
        items = np.concatenate([np.array(i) for i, _, _ in sel])
        p = np.concatenate([p for _, p, _ in sel])
        bl = np.concatenate([bl for _, _, bl in sel])
        jitter = cfg["item_sd"] * np.random.default_rng(cfg["item_seed"]).standard_normal(copies * len(items))
        cols = np.concatenate([items - 1 + c * n_items for c in range(copies)])
        offsets = np.concatenate([np.full(len(items), cfg.get("own_offset", 0.0) if c == 0 else 0.0) for c in range(copies)])
        blocks_all = np.concatenate([bl + c * len(names) for c in range(copies)])
        out[:, cols] = cts_block(targets[role], np.tile(p, copies) + offsets + jitter, blocks_all, cfg, rng)
    return out


def likert(target_sum: np.ndarray, n_items: int, lo: int, hi: int, a: float, rng: np.random.Generator,
           *, item_key: str = "", item_sd: float = 0.35, spread: float = 1.0) -> np.ndarray:
    """Answers ``lo..hi`` to ``n_items`` items adding up to ``target_sum`` (rounded, clipped) per row.

    Item locations are a property of the questionnaire, not of the sample: they are drawn from a
    generator seeded by ``item_key`` alone, so every seed of the twin shares them.
    """
    levels = hi - lo
    total = np.clip(np.round(target_sum), lo * n_items, hi * n_items) - lo * n_items
    item_rng = np.random.default_rng(zlib.crc32(item_key.encode()))
    b = thresholds(item_sd * item_rng.standard_normal(n_items), spread * np.linspace(-1.5, 1.5, levels))
    values, _ = realize(total, rng.random((len(total), n_items)), b, a=a)
    return values + lo


class ListWriter:
    """Fills the item matrix of one instrument scale by scale, reverse-keying at the end."""

    def __init__(self, instrument: str, n: int, keys_dir: Any = None) -> None:
        self.spec = load_spec(instrument, keys_dir=keys_dir)
        self.x = np.full((n, self.spec.n_items), np.nan)

    def items(self, scale: str) -> np.ndarray:
        """0-based columns of a scale's items."""
        return np.asarray(self.spec.scales[scale].items) - 1

    def fill(self, cols: np.ndarray, target_sum: np.ndarray, a: float, rng: np.random.Generator, **kw: Any) -> None:
        """Write answers to ``cols`` whose scored (reverse-keyed) values add up to ``target_sum``."""
        rows = np.isfinite(target_sum)
        key = f"{self.spec.instrument}:{int(cols[0]) + 1}-{int(cols[-1]) + 1}"
        vals = likert(np.where(rows, target_sum, 0.0), len(cols), self.spec.min, self.spec.max, a, rng, item_key=key, **kw)
        block = self.x[:, cols]
        block[rows] = vals[rows]
        self.x[:, cols] = block

    def raw_cut(self, scale: str, t_cut: float) -> float:
        """Raw score at which a scale reaches T-score ``t_cut`` (T = 50 + 10 (raw - mean) / sd)."""
        norm = self.spec.norms[scale]
        return norm.mean + norm.sd * (t_cut - 50.0) / 10.0

    def answers(self) -> np.ndarray:
        """The answers, reverse-keyed items turned back (the engine scores ``min + max - answer``)."""
        x = self.x.copy()
        rev = np.asarray(self.spec.reverse, int) - 1
        if rev.size:
            x[:, rev] = self.spec.min + self.spec.max - x[:, rev]
        return x
