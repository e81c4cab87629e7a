"""What one bench run measured, and how it is printed: the machine's ceilings, the table of rows
(best epoch time, spread, GFLOP/s, fraction of peak and of the rule's GEMM ceiling), the speed-ups
and the machine-readable ``RESULT`` line. Every ratio comes from the same run."""

from __future__ import annotations

from dataclasses import dataclass, field

from .rows import RULES

RESULT_KEYS = ("gemm_fraction", "lockstep_gemm_fraction", "autograd_speedup", "lockstep_autograd_speedup",
               "naive_speedup")


@dataclass
class Measured:
    """The raw repeats of one run: matmul peaks and GEMM ceilings (GFLOP/s; ``ceilings`` per rule,
    ``lock_ceilings`` for the stacked DFA step), copy bandwidths (GB/s), and per row the seconds per epoch."""

    peaks: list = field(default_factory=list)
    ceilings: dict = field(default_factory=lambda: {r: [] for r in RULES})
    lock_ceilings: list = field(default_factory=list)
    bandwidths: list = field(default_factory=list)
    rows: dict = field(default_factory=dict)

    @property
    def peak(self):
        return max(self.peaks)

    @property
    def ceiling(self):
        """Each rule's GEMM ceiling as a fraction of the peak."""
        return {r: max(v) / self.peak for r, v in self.ceilings.items()}

    @property
    def lock_ceiling(self):
        return max(self.lock_ceilings)

    @property
    def best(self):
        """The best (least disturbed) epoch time of each row, plus the six rules trained one after another."""
        best = {k: min(v) for k, v in self.rows.items()}
        best["fa_lab one-by-one"] = sum(best[f"fa_lab {r}"] for r in RULES)
        best["peer one-by-one"] = sum(best[f"peer {r}"] for r in RULES)
        return best

    @property
    def spread(self):
        """Worst / best epoch time of each row: a noise indicator."""
        return {k: max(v) / min(v) for k, v in self.rows.items()}


DIAGNOSTICS = "diagnostics (6 nets)"  # the row timing one epoch's AlignmentProbe of the lockstep row's six nets


def report(m, flops, settings):
    """Print everything for measurements ``m``, FLOPs per epoch ``flops`` (per rule and "lockstep"),
    under ``settings``; return the ratios of the RESULT line."""
    print_ceilings(m, settings)
    print_table(m, flops)
    if DIAGNOSTICS in m.rows:
        d, lock = m.best[DIAGNOSTICS], m.best["fa_lab lockstep"]
        print(f"alignment diagnostics, recorded after every epoch: {d * 1e3:.1f} ms for the six nets, "
              f"{100 * d / lock:.2f} % of their lockstep epoch")
    ratios = result_ratios(m, flops)
    print_speedups(m.best, ratios)
    print("RESULT " + " ".join(f"{k}={v:.3f}" for k, v in ratios.items()))
    return ratios


def print_ceilings(m, settings):
    """The matmul peak, each rule's GEMM ceiling, the lockstep ceiling and the memory bound."""
    peak, B, sizes = m.peak, settings.batch_size, settings.sizes
    print(f"\nmatmul peak (torch.mm {settings.peak_n}², best of {len(m.peaks)}x7): {peak:.1f} GFLOP/s "
          f"(worst repeat {min(m.peaks):.1f})")
    print(f"GEMMs alone of one step at batch {B} (the shape ceiling, of peak): "
          + ", ".join(f"{r} {c:.2f}" for r, c in m.ceiling.items()))
    lock_ceiling, bw = m.lock_ceiling, max(m.bandwidths)
    weights = sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
    print(f"the GEMMs of a DFA step for {len(RULES)} stacked models (lockstep ceiling; weights "
          f"{len(RULES) * weights * 4 / 2**20:.0f} MiB): {lock_ceiling:.1f} GFLOP/s = {lock_ceiling / peak:.2f} of peak")
    # per step each weight is read by the forward GEMM and read + written by the update: 12 bytes
    # for 4·batch FLOPs; once the weights no longer fit in the caches this bounds the GEMMs
    intensity = 4 * B / 12
    print(f"copy bandwidth {bw:.1f} GB/s; weights streamed from memory at batch {B} ({intensity:.1f} FLOP/byte) "
          f"allow at most {min(1.0, intensity * bw / peak):.2f} of peak")


def print_table(m, flops):
    """One line per row; rows with a FLOP count also get GFLOP/s and fractions of peak and ceiling."""
    print(f"\n{'row':22s} {'s/epoch':>9s} {'spread':>7s} {'GFLOP/ep':>9s} {'GFLOP/s':>8s} {'of peak':>8s} "
          f"{'ceiling':>8s} {'of ceil.':>8s}")
    best, spread, peak = m.best, m.spread, m.peak
    for name in list(m.rows) + ["fa_lab one-by-one", "peer one-by-one"]:
        sp = f"{spread[name]:.2f}" if name in spread else ""
        fl = _row_flops(name, flops)
        if not fl:
            print(f"{name:22s} {best[name]:9.2f} {sp:>7s}")
            continue
        rate = fl / best[name] / 1e9
        ceil = _row_ceiling(name, m)
        extra = f" {ceil:8.2f} {rate / peak / ceil:8.2f}" if ceil else ""
        print(f"{name:22s} {best[name]:9.2f} {sp:>7s} {fl / 1e9:9.1f} {rate:8.1f} {rate / peak:8.2f}{extra}")


def _row_flops(name, flops):
    """A row's FLOPs per epoch: its rule's; the six rules' for one-by-one; BP's for the student; else None."""
    if name.endswith("one-by-one"):
        return flops["lockstep"]
    if name == "student bp":
        return flops["bp"]
    return flops.get(name.split()[-1]) if name.startswith(("fa_lab", "peer")) else None


def _row_ceiling(name, m):
    """A fa_lab row's GEMM ceiling as a fraction of peak (the stacked one for lockstep); else None."""
    if name == "fa_lab lockstep":
        return m.lock_ceiling / m.peak
    return m.ceiling.get(name.split()[-1]) if name.startswith("fa_lab") else None


def result_ratios(m, flops):
    """The RESULT line's ratios (``RESULT_KEYS``; defined in bench.py's docstring)."""
    best, peak = m.best, m.peak

    def fraction(row):
        return flops[row.split()[-1]] / best[row] / 1e9 / peak

    values = (fraction("fa_lab dfa"), fraction("fa_lab lockstep"), best["peer dfa"] / best["fa_lab dfa"],
              best["peer one-by-one"] / best["fa_lab lockstep"], best["student bp"] / best["fa_lab bp"])
    return dict(zip(RESULT_KEYS, values))


def print_speedups(best, ratios):
    """Epoch-time ratios: peer / fa_lab per rule, lockstep against one-by-one, the student loop."""
    print("\nspeed-ups (epoch-time ratios, same run):")
    for r in RULES:
        print(f"  {r:4s} peer/fa_lab {best[f'peer {r}'] / best[f'fa_lab {r}']:5.2f}")
    print(f"  lockstep vs fa_lab one-by-one: {best['fa_lab one-by-one'] / best['fa_lab lockstep']:.2f}x")
    print(f"  lockstep vs peer one-by-one:   {ratios['lockstep_autograd_speedup']:.2f}x")
    print(f"  student loop vs fa_lab bp:     {ratios['naive_speedup']:.2f}x "
          f"(vs fa_lab dfa {best['student bp'] / best['fa_lab dfa']:.2f}x)")
