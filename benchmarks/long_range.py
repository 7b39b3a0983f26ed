"""Long-range structure: unconditional SketchRNN against the Sketchformer-style transformer, same data, same time.

    python benchmarks/long_range.py [--budget 600] [--threads 1] [--sequential]

Both are autoregressive density models of the next point given the points before it (SketchRNN without its encoder,
so that neither sees the drawing it predicts), trained by the same `singleline.train.Trainer` at their default sizes
(SketchRNN: layer-norm LSTM 512, M 20, 1.1 M parameters; Sketchformer: 4 blocks of width 128, 8 heads, M 20, 0.8 M) with batch 100 and
N_max 200, on the shared real drawings (10 to 200 points, split 90/10 with a fixed seed), for the same wall-clock
budget, each in its own process with the same torch thread count (by default at the same time, so that a shared
machine's load falls on both alike).

Measured on the validation drawings after the budget:
- L_R = L_s + L_p, the loss both minimise, and the per-point losses by position (`singleline.evaluate.evaluate_losses`, the
  same computation as `singleline evaluate`);
- where along a drawing each model predicts well: the offset NLL (-log p of the next point's offset) and the pen
  cross-entropy averaged over the real points in position bins 1-25, 26-50, 51-100, 101-200. An LSTM has to carry the
  past in its state; attention looks back directly, so a gap that widens with position is the long-range effect;
- samples (temperature 0.4, 100 drawings, seeded): points per drawing and strokes per drawing against the validation
  drawings', and the distance from a drawing's last point to its first relative to its size (how often a model
  closes a figure the way the artist does).

Prints a table and writes benchmarks/results/long_range.json.
"""
import argparse, json, os, sys, time, subprocess, tempfile, resource
from pathlib import Path
import numpy as np

from sketch_rnn import prepare, run_sides          # benchmarks/sketch_rnn.py: the same drawings and split as the SketchRNN benchmark

RESULTS = Path(__file__).parent / 'results'
BINS = [(1, 25), (26, 50), (51, 100), (101, 200)]


def child(a, data: Path) -> dict:
    import torch
    from singleline.evaluate import evaluate_losses, drawing_stats
    from singleline.train import make_trainer
    from singleline.data import load_npz
    torch.set_num_threads(a.threads)
    model_config = dict(max_seq_len=200) | (dict(conditional=False) if a.child == 'sketchrnn' else {})
    t = make_trainer(data, Path(a.tmp) / a.child, a.child, model_config, dict(steps=10**9, progress=False, log_every=0, valid_every=0, sample_every=0, threads=a.threads, seed=0))
    it = t.batches()
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < a.budget:
        t.train_step(next(it)); steps += 1
    elapsed = time.perf_counter() - t0
    model = t.raw_model.eval()
    L = evaluate_losses(model, load_npz(data)['valid'], t.scale, batch_size=1000)     # L_R as training defines it, and by position
    bins = {b: v for b, v in L['by_position'].items() if b in {f'{lo}-{hi}' for lo, hi in BINS}}
    s = time.perf_counter()
    samples = model.sample_drawings(100, temperature=0.4, scale=t.scale, seed=0)
    t_sample = time.perf_counter() - s
    return dict(model=a.child, steps=steps, elapsed=elapsed, steps_per_s=steps / elapsed, params=sum(q.numel() for q in model.parameters()),
                valid_L_R=L['L_R'], valid_L_s=L['L_s'], valid_L_p=L['L_p'], bins=bins,
                samples=drawing_stats(samples), sample_s=t_sample, valid_drawings=drawing_stats(load_npz(data)['valid']),
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def table(report:dict) -> list:
    "The benchmark's table, as lines, from its JSON report (`args` and `results`)."
    a, res = argparse.Namespace(**report['args']), report['results']
    r, f = res['sketchrnn'], res['sketchformer']
    lines = []
    lines.append(f"Unconditional SketchRNN vs Sketchformer-style transformer, CPU, {a.threads} thread(s) each, "
          f"{'one after the other' if a.sequential else 'both at once'}, {a.budget:.0f} s of training each, batch 100, N_max 200")
    lines.append(f"{'':34s} {'SketchRNN':>12s} {'Sketchformer':>13s}")
    rows = [('parameters', 'params', '{:,}'), ('training steps', 'steps', '{}'), ('steps/s', 'steps_per_s', '{:.3f}'),
            ('valid L_R', 'valid_L_R', '{:.4f}'), ('  L_s (offsets)', 'valid_L_s', '{:.4f}'), ('  L_p (pen)', 'valid_L_p', '{:.4f}')]
    for name, k, fmt in rows: lines.append(f"{name:34s} {fmt.format(r[k]):>12s} {fmt.format(f[k]):>13s}")
    lines.append('per real point, by position in the drawing:')
    for b in r['bins']:
        lines.append(f"  points {b:>7s}: offset NLL {'':9s} {r['bins'][b]['offset_nll']:>12.3f} {f['bins'][b]['offset_nll']:>13.3f}   ({r['bins'][b]['points']} points)")
        lines.append(f"  points {b:>7s}: pen cross-entropy {r['bins'][b]['pen_ce']:>12.3f} {f['bins'][b]['pen_ce']:>13.3f}")
    v = r['valid_drawings']
    lines.append(f"samples (100, tau 0.4), medians; validation drawings: {v['points']:.0f} points, {v['strokes']:.0f} strokes, end-to-start / diagonal {v['closure']:.2f}")
    for name, k, fmt in (('  points per drawing', 'points', '{:.0f}'), ('  strokes per drawing', 'strokes', '{:.0f}'), ('  end-to-start / diagonal', 'closure', '{:.2f}')):
        lines.append(f"{name:34s} {fmt.format(r['samples'][k]):>12s} {fmt.format(f['samples'][k]):>13s}")
    lines.append(f"{'  sampling time (s)':34s} {r['sample_s']:>12.2f} {f['sample_s']:>13.2f}")
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--budget', type=float, default=600, help='training wall-clock seconds per model (default 600)')
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads for each (default 1: the 2 cores are shared)')
    p.add_argument('--sequential', action='store_true', help='train one after the other (default: both at once)')
    p.add_argument('--child', choices=['sketchrnn', 'sketchformer'], help=argparse.SUPPRESS)
    p.add_argument('--data', help=argparse.SUPPRESS)
    p.add_argument('--tmp', help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print('RESULT ' + json.dumps(child(a, Path(a.data)))); return
    tmp = Path(tempfile.mkdtemp())
    data = prepare(tmp)
    env = {**os.environ, 'SINGLELINE_QUIET': '1', 'OMP_NUM_THREADS': str(a.threads)}
    cmds = {m: [sys.executable, __file__, '--child', m, '--data', str(data), '--tmp', str(tmp), '--budget', str(a.budget), '--threads', str(a.threads)]
            for m in ('sketchrnn', 'sketchformer')}
    res = run_sides(cmds, env, a.sequential)
    from readme import machine
    report = dict(args=vars(a), machine=machine(), results=res)
    print('\n'.join(table(report)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'long_range.json').write_text(json.dumps(report, indent=1))
    print(f"wrote {RESULTS / 'long_range.json'}")


if __name__ == '__main__':
    main()
